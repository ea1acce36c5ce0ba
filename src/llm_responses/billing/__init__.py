"""Money: integer nano-dollars, prices, and the cost rules of DataForSEO's LLM Responses."""
