"""The seeds' own request bodies."""

SEED_TASK = {
    "system_message": "communicate as if we are in a business meeting",
    "message_chain": [
        {"role": "user", "message": "Hello, what’s up?"},
        {
            "role": "ai",
            "message": "Hello! I’m doing well, thank you. How can I assist you today? Are there any specific topics "
            "or projects you’d like to discuss in our meeting?",
        },
    ],
    "model_name": "gpt-4.1-mini",
    "user_prompt": "provide information on how relevant the amusement park business is in France now",
}

SEED_LIVE = {
    **SEED_TASK,
    "max_output_tokens": 200,
    "temperature": 0.3,
    "top_p": 0.5,
    "web_search": True,
    "web_search_country_iso_code": "FR",
    "web_search_city": "Paris",
}
