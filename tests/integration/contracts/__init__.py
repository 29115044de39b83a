"""Contract tests on web3's in-process EVM."""
