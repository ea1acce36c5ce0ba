"""HTTP: routes per endpoint family, authentication, envelope rendering, rate limits."""
