from aicc.platform.db import run_env

run_env("review")
