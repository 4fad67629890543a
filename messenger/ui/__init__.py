"""What a person sees and types: ``render`` (server frames as Rich renderables, the views),
``terminal`` (the prompt_toolkit line editor) and ``frontends`` (piped lines, --listen, the
line editor, each returning an exit status).
"""
