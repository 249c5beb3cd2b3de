"""kefu: a retrieval-augmented after-sales customer-service bot.

Importing the package is cheap: models and indexes load in `factory.build_bot(...).warm_up()`.
"""

__version__ = "0.1.0"
