"""Chain adapters: contracts, transactions and their intents (web3)."""
