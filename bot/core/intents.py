"""The intents a message can be read as: the words the shop file's phrases, the reader
(bot/nlu/) and the conversation's rules (bot/domain/) share."""

INTENTS = (
    "greeting", "farewell", "discount", "free_shipping", "gift", "product_question", "faq",
    "order_status", "return_request", "complaint", "human", "buy", "other",
)
OTHER = "other"
