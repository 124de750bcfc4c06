from aicc.platform.db import run_env
from services.funding.store import Base

run_env(Base.metadata, "funding")
