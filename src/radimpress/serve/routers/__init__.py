"""One router per resource; app.ROUTERS lists which are mounted."""
