DEMO_PASSWORD = "mashang-demo"
DEMO_ACCOUNTS: list = []


def seed_demo() -> dict:
    return {}
