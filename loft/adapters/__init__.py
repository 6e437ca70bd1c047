"""Where Loft relies on what a library does not promise: each library's private uses gathered in one place,
named, pinned and tested.

A private use is an attribute, module, method or behaviour a library does not document (an underscored name, a
subclass that overrides internal methods, a copy of an internal method, a mapping made to match the library's
own). Such a use may break in any release, silently. So, outside ``loft/db`` (whose own adapters cover
SQLAlchemy and asyncpg):

- each library's private uses live in one place, whose docstring names every private used and the version it
  was checked against;
- ``pyproject.toml`` pins the library to the range those versions were checked in;
- ``tests/test_adapters.py`` exercises each use on the real library and fails, naming the private, when an
  upgrade changes what Loft relies on (run it after raising a pin).

The places:

- :mod:`loft.adapters.httpclient`: httpx (``AsyncClient._transport``) and httpx-aiohttp (the transport's lazily
  made session, its exception mapping, its timeout mapping), for requests made on tenants' behalf.
- :class:`loft.serving.LoftHttpProtocol`: uvicorn's httptools protocol, subclassed (its state and methods), and
  httptools' exception chaining; the one class in Loft that touches them.
- :class:`loft.app.CreateRoute`: Starlette's routing protocol (``BaseRoute.matches`` / ``handle``, the child
  scope the router merges), which is public in name but not documented as an extension point.
- :class:`loft.app.LoftStarlette`: Starlette's ``build_middleware_stack`` (called by ``Starlette.__call__`` on the
  first request) and ``user_middleware`` (the declared list), overridden so that the stack is the declared layers
  alone, without Starlette's exception layers (checked against Starlette 1.10).
"""
