"""Generated answers: an LLM writes from the same retrieval, and every [n] is verified.

`chat_models` builds the LangChain chat model (Ollama, OpenAI-compatible), `prompts` loads the
prompt files and formats passages, `answerer` is the generative answerer with extractive fallback,
`verify` checks citation markers, `deadline` runs calls with a time limit.
"""
