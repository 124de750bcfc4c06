from aicc.platform.db import run_env
from services.supervision.store import Base

run_env(Base.metadata, "supervision")
