from aicc.platform.db import run_env
from services.identity.store import Base

run_env(Base.metadata, "identity")
