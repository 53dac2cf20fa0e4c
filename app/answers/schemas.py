from app.questions.schemas import AnswerCreate, AnswerUpdate

__all__ = ["AnswerCreate", "AnswerUpdate"]
