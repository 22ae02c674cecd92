"""Teaching: the lessons' helpers, the demo, and the live dashboard with its charts."""
