"""Identity service: organisations, their unified social credit codes and jurisdictions (山东省及各市)."""
