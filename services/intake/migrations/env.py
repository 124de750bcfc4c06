from aicc.platform.db import run_env
from services.intake.store import Base

run_env(Base.metadata, "intake")
