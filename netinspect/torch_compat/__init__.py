"""The one place netinspect touches torch's private internals (and Typer's, ``sys.modules``,
``sys._getframe``): one small module per concern, each with the torch versions it was checked
on, a feature test deciding whether its fast or exact path is available, and a plain fallback
that is right everywhere. Imported by capture, pipeline and cli; imports none of them."""
