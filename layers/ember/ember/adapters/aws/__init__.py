"""AWS adapters (boto3): imported only by the functions that use them."""
