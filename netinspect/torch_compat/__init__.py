"""Private torch APIs, fenced in one package: each module names the versions it was checked on."""
