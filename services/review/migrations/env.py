from aicc.platform.db import run_env
from services.review.store import Base

run_env(Base.metadata, "review")
