"""Hot statements, run straight on the driver (``sqlite3``, or asyncpg under SQLAlchemy's async engine).

A message costs about twenty statements between its create and its last status callback. Through SQLAlchemy's
execution machinery each one costs ~40 µs of CPU even when its compiled form is cached (cache key, execution
context, parameter construction, result metadata); the statement itself takes a few µs in SQLite. A
:class:`Prepared` statement is compiled by SQLAlchemy once per set of parameter names, and from then on runs as
its SQL string with its parameters put in order and converted by the same type processors SQLAlchemy would use,
so values go in and come out exactly as through SQLAlchemy (dates, JSON, booleans).

On PostgreSQL the statement runs on the asyncpg connection of the caller's SQLAlchemy connection, in the
transaction SQLAlchemy's asyncpg adapter keeps (see ``loft.db.postgres.PostgresConn``); asyncpg prepares it
once per connection and caches it.

A statement that needs what this path does not do (parameters expanded at execution, defaults computed by Python
functions, several parameter sets at once) is run through SQLAlchemy instead, so correctness never depends on
which statements are marked.
"""

from __future__ import annotations

import functools
import sqlite3
import sys
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, compress, repeat
from operator import eq, is_, itemgetter
from typing import Any, Protocol

from sqlalchemy import (
    ARRAY,
    JSON,
    VARCHAR,
    BindParameter,
    Boolean,
    ColumnElement,
    String,
    Table,
    Text,
    any_,
    bindparam,
)
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound, StatementError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from loft.db import private
from loft.kit import dates

_Processor = Callable[[Any], Any] | None
#: Placeholder styles whose parameters are a plain sequence: sqlite3's ``?`` and asyncpg's ``$1``.
_POSITIONAL = ("qmark", "numeric_dollar")

#: A result row: SQLAlchemy's ``Row``, or the named tuple a prepared statement makes (same attributes, indexes
#: and ``_mapping``).
Record = Any


class Rows(Protocol):
    """What callers use of a result: SQLAlchemy's ``CursorResult`` and :class:`FetchedRows` both give it."""

    @property
    def rowcount(self) -> int: ...

    def first(self) -> Any: ...

    def one(self) -> Any: ...

    def one_or_none(self) -> Any: ...

    def all(self) -> Sequence[Any]: ...

    def scalar(self) -> Any: ...

    def scalar_one(self) -> Any: ...

    def scalar_one_or_none(self) -> Any: ...


class Prepared:
    """A statement compiled once per dialect and set of parameter names (module-level, like a constant).

    Plans are kept per dialect *name*: every Loft engine of one kind is configured alike (the same JSON
    serializer), so the processors of the first one serve them all.
    """

    __slots__ = ("statement", "_plans")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], Plan | None] = {}

    def plan(self, dialect: Dialect, keys: tuple[str, ...]) -> Plan | None:
        """How to run the statement with parameters named ``keys``; None if only SQLAlchemy can run it."""
        try:
            return self._plans[dialect.name, keys]
        except KeyError:
            plan = self._plans[dialect.name, keys] = _compile(self.statement, dialect, keys)
            return plan


@dataclass(slots=True)
class Plan:
    """How to run one statement for one set of parameter names: its SQL, and how values go in and come out."""

    sql: str
    names: tuple[str, ...]  # parameter names, in the order of the statement's placeholders
    fixed: Mapping[str, Any]  # values written into the statement (literals, scalar column defaults)
    binds: tuple[_Processor, ...]  # one per placeholder
    row: Any  # a named tuple class; None: the statement returns no rows
    types: tuple[Any, ...]  # the result columns' SQLAlchemy types
    #: One per result column; None until :meth:`resolve` gave the driver's column types (PostgreSQL's
    #: processors depend on them, SQLite's do not).
    results: tuple[_Processor, ...] | None
    #: The SQL of this one-row INSERT for several rows at once, by number of rows and the columns written as NULL
    #: (see :meth:`run_rows`).
    _for_rows: dict[tuple[int, tuple[int, ...]], str] = field(default_factory=dict)
    #: A one-row ``INSERT … VALUES (?, …)``'s text before ``VALUES``, its group of placeholders and what follows
    #: it (``RETURNING …``); None for any other statement (see :attr:`takes_rows`).
    _values: tuple[str, str, str] | None = field(init=False)
    #: The placeholders' values from a mapping of them all, and the (position, processor) of those converted.
    _pick: Callable[[Mapping[str, Any]], list[Any]] = field(init=False)
    _converted: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False)
    #: The (position, processor) of the result columns that :attr:`results` converts.
    _results_converted: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        self._values = _one_row_values(self.sql)
        self._pick = _picker(self.names)
        self._converted = tuple((index, process) for index, process in enumerate(self.binds) if process is not None)

    def resolve(self, dialect: Dialect, driver_types: Sequence[Any]) -> None:
        self.results = tuple(kind.dialect_impl(dialect).result_processor(dialect, driver_type)
                             for kind, driver_type in zip(self.types, driver_types))
        self._results_converted = tuple((index, process) for index, process in enumerate(self.results)
                                        if process is not None)

    def values(self, parameters: Mapping[str, Any] | None) -> list[Any]:
        """The statement's parameters in placeholder order, converted as SQLAlchemy would convert them."""
        given = parameters or {}
        values = self._pick({**self.fixed, **given} if self.fixed else given)
        for index, process in self._converted:
            values[index] = process(values[index])
        return values

    def rows(self, fetched: Iterable[Sequence[Any]], rowcount: int) -> FetchedRows:
        """The driver's rows, converted as SQLAlchemy would convert them."""
        if self.row is None:
            return FetchedRows([], rowcount)
        make = self.row._make
        assert self.results is not None, "resolve() first"
        converted = self._results_converted
        if not converted:  # nothing to convert (SQLite's integers and text): the driver's values as they are
            return FetchedRows(list(map(make, fetched)), rowcount)
        made = []
        for raw_row in fetched:  # (only the columns that have a processor are visited: a message has 4 of 23)
            values = list(raw_row)
            for index, process in converted:
                values[index] = process(values[index])
            made.append(make(values))
        return FetchedRows(made, rowcount)

    def run(self, raw: sqlite3.Connection, parameters: Mapping[str, Any] | None) -> FetchedRows:
        """Run on a ``sqlite3`` connection (inside the caller's transaction)."""
        values = self.values(parameters)
        try:
            cursor = raw.execute(self.sql, values)
            fetched = cursor.fetchall() if self.row is not None else []
        except sqlite3.Error as exc:
            # The same exception SQLAlchemy would raise (IntegrityError, OperationalError, …).
            raise _wrapped(exc, self.sql, values) from exc
        return self.rows(fetched, cursor.rowcount)


    @property
    def takes_rows(self) -> bool:
        """Whether :meth:`run_rows` can run it: a one-row ``INSERT`` whose ``VALUES`` are placeholders alone."""
        return self._values is not None

    def run_rows(self, raw: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> FetchedRows:
        """Run this one-row ``INSERT … VALUES (…) [RETURNING …]`` for all ``rows`` in one statement (``VALUES (…),
        (…), …``): what ``RETURNING`` gives for all of them, in no particular order (SQLite promises none).

        A column that is None in every row is written ``NULL`` in the statement rather than bound: ``sqlite3`` binds
        None through its adaptation protocol, and a new message has half a dozen such columns (its error, the date
        it was sent…). The statement's text is then one per number of rows and set of such columns."""
        if self._values is None:
            raise ValueError(f"not an INSERT of placeholders: {self.sql}")
        most = max(1, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // max(1, len(self.names)))
        if len(rows) > most:  # more values than one statement may bind: in parts
            parts = [self.run_rows(raw, rows[start:start + most]) for start in range(0, len(rows), most)]
            return FetchedRows([row for part in parts for row in part.all()], sum(part.rowcount for part in parts))
        given: list[Sequence[Any]] = list(map(self.values, rows))
        nulls = _nulls(given)
        sql = self._for_rows.get((len(rows), nulls))
        if sql is None:
            if len(self._for_rows) >= _TEXTS_KEPT:
                self._for_rows.clear()
            head, one, tail = self._values
            if nulls:
                one = "(" + ", ".join(["NULL" if index in nulls else "?" for index in range(len(self.names))]) + ")"
            sql = self._for_rows[len(rows), nulls] = f"{head} VALUES {', '.join([one] * len(rows))}{tail}"
        if nulls:
            given = list(map(_without(nulls, len(self.names)), given))
        values = list(chain.from_iterable(given))  # (no Python loop over every value)
        try:
            cursor = raw.execute(sql, values)
            fetched = cursor.fetchall() if self.row is not None else []
        except sqlite3.Error as exc:
            raise _wrapped(exc, sql, values) from exc
        return self.rows(fetched, cursor.rowcount)

    def run_many(self, raw: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run once per set of parameters (``executemany``, a statement that returns no rows); rows changed."""
        values = [self.values(parameters) for parameters in rows]
        try:
            cursor = raw.executemany(self.sql, values)
        except sqlite3.Error as exc:
            raise _wrapped(exc, self.sql, values) from exc
        return cursor.rowcount


#: Texts of multi-row INSERTs a plan keeps (by number of rows and NULL columns) before it forgets them all.
_TEXTS_KEPT = 1024


def _nulls(rows: Sequence[Sequence[Any]]) -> tuple[int, ...]:
    """The positions at which every row's value is None (in C, but for the rows that differ from the first)."""
    first = rows[0]
    if None not in first:
        return ()
    nulls = tuple(compress(range(len(first)), map(is_, first, repeat(None))))
    if len(rows) > 1:
        pick = itemgetter(*nulls)
        if not all(map(eq, map(pick, rows), repeat(pick(first)))):  # some row has a value in one of them
            nulls = tuple(index for index in nulls if all(row[index] is None for row in rows))
    return nulls


@functools.lru_cache(maxsize=256)
def _without(nulls: tuple[int, ...], width: int) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """A row's values but those at ``nulls`` (positions among ``width``)."""
    kept = [index for index in range(width) if index not in nulls]
    if not kept:
        return lambda values: ()
    if len(kept) == 1:
        only = kept[0]
        return lambda values: (values[only],)
    return itemgetter(*kept)


def _one_row_values(sql: str) -> tuple[str, str, str] | None:
    """``sql`` cut around its ``VALUES`` group if it is a one-row ``INSERT`` of placeholders (``?``) alone: the text
    before ``VALUES``, the group, the text after it; None otherwise (another statement, a value written as an
    expression, PostgreSQL's ``$1``)."""
    if not sql.startswith("INSERT ") or " VALUES (" not in sql:
        return None
    head, values_and_tail = sql.split(" VALUES ", 1)
    one, _, tail = values_and_tail.partition(")")
    if set(one) - set("(?, "):
        return None
    return head, one + ")", tail


def _wrapped(exc: sqlite3.Error, sql: str, values: list[Any]) -> StatementError:
    # Parameters hidden: they hold message bodies and phone numbers, and this may end up in a log.
    return DBAPIError.instance(sql, values, exc, sqlite3.Error, hide_parameters=True)


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Plan | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    if dialect.paramstyle not in _POSITIONAL or compiled.positiontup is None or compiled.literal_execute_params:
        return None
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    if any(bind.expanding or bind.callable is not None for bind in by_name.values()):
        return None  # expanded or computed at each execution: leave it to SQLAlchemy
    fixed: dict[str, Any] = {}
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if default is None or not getattr(default, "is_scalar", False):
            return None  # a default computed by a function at execution: leave it to SQLAlchemy
        fixed[_plain(column.key)] = default.arg  # type: ignore[attr-defined]
    for name, bind in by_name.items():
        if name not in keys and name not in fixed and not bind.required:
            fixed[name] = bind.effective_value
    binds = tuple(bind_processor(by_name[name].type.dialect_impl(dialect), dialect)
                  for name in compiled.positiontup)
    columns = private.result_columns(compiled)  # what SQLAlchemy itself builds result rows from
    row = _row_class([entry.keyname for entry in columns]) if columns else None
    plan = Plan(compiled.string, tuple(compiled.positiontup), fixed, binds, row,
                tuple(entry.type for entry in columns), None)
    if dialect.name == "sqlite":
        plan.resolve(dialect, [None] * len(columns))
    return plan


def _plain(key: str) -> str:
    """A column's key as a plain, interned ``str``. SQLAlchemy's is a ``quoted_name``, a ``str`` subclass that a
    dict finds only through its slow path (hashed anew, compared by value): a create looks up every column of a
    message twice."""
    return sys.intern(str(key))


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function from a mapping to the list of its values for ``names``, in order (KeyError for one missing)."""
    if not names:
        return lambda given: []
    if len(names) == 1:
        name = names[0]
        return lambda given: [given[name]]
    get = itemgetter(*names)
    return lambda given: list(get(given))


def bind_processor(kind: Any, dialect: Dialect) -> _Processor:
    """What SQLAlchemy converts a value of ``kind`` with, except for SQLite's timestamps (the same text, faster)
    and one-dimensional arrays (each item as SQLAlchemy converts it, and none when their type converts nothing:
    SQLAlchemy copies the list item by item anyway)."""
    if isinstance(kind, ARRAY) and kind.dimensions == 1:
        item: _Processor = kind.item_type.dialect_impl(dialect).bind_processor(dialect)
        return None if item is None else functools.partial(_each, item)
    process: _Processor = kind.bind_processor(dialect)
    if process is not None and type(kind) is SQLITE_DATETIME and private.storage_format(kind) == _DEFAULT_STAMP:
        return _SqliteStamp(process)
    if process is not None and isinstance(kind, JSON):
        return _JsonEmpty(process)
    return process


def _each(process: Callable[[Any], Any], values: Any) -> Any:
    return None if values is None else [process(value) for value in values]


#: How SQLite's ``DATETIME`` writes a timestamp unless told otherwise (what :class:`_SqliteStamp` writes).
_DEFAULT_STAMP = private.storage_format(SQLITE_DATETIME)


class _SqliteStamp:
    """SQLite's ``DATETIME`` bind processor (``YYYY-MM-DD HH:MM:SS.ffffff``, the zone dropped, as SQLAlchemy
    writes it), faster than SQLAlchemy's format string and than ``datetime.isoformat`` (a microsecond each): the
    text of a stamp's second (the wall clock's, in its own zone) is remembered (:class:`loft.kit.dates.PerSecond`),
    and its microseconds added to it. A row's stamps, and a batch's rows, are mostly of one second."""

    __slots__ = ("_fallback", "_last")

    def __init__(self, fallback: Callable[[Any], Any]) -> None:
        self._fallback = fallback
        #: The stamp written last, and its text: a row's stamps are often one moment (``date_created`` and
        #: ``date_updated`` of a new row). Replaced whole; holding it keeps its identity from being reused.
        self._last: tuple[Any, str] = (_NOTHING, "")

    def __call__(self, value: Any) -> Any:
        last = self._last
        if value is last[0]:
            return last[1]
        if type(value) is not datetime:
            return self._fallback(value)  # a date, or not a datetime (which it refuses)
        text = f"{_STAMP_SECOND(value)}.{value.microsecond:06d}"
        self._last = (value, text)
        return text


_NOTHING = object()  # (no stamp written yet)
_STAMP_SECOND = dates.PerSecond(lambda second: second.isoformat(" ")[:19])


class _JsonEmpty:
    """A JSON column's bind processor, with what it makes of an empty object and an empty list made once: most
    rows hold one (a message's options, a handset's media)."""

    __slots__ = ("_process", "_object", "_list")

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self._process = process
        self._object = process({})
        self._list = process([])

    def __call__(self, value: Any) -> Any:
        if not value:
            kind = type(value)
            if kind is dict:
                return self._object
            if kind is list:
                return self._list
        return self._process(value)


class _Among(ColumnElement[bool]):
    """``column`` is one of a list of values given at execution (:func:`among`)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: SQLite gets no "= 1" after it
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("prefix", InternalTraversal.dp_string), ("count", InternalTraversal.dp_plain_obj)]

    def __init__(self, column: ColumnElement[Any], prefix: str, count: int) -> None:
        self.column, self.prefix, self.count = column, prefix, count


def among(column: ColumnElement[Any], prefix: str, count: int) -> ColumnElement[bool]:
    """``column IN (…)`` over :func:`values_of` ``(prefix, …)``, for up to ``count`` values (a
    :func:`list_length`). Each database gets the form it runs best:

    - SQLite: ``IN (?, ?, …)``, ``count`` placeholders named ``prefix0`` …, padded by :func:`values_of`;
    - PostgreSQL: ``= ANY($n)``, one array parameter named ``prefix``: one prepared statement whatever the
      list's length, and cheap to plan. PostgreSQL plans a statement again at most executions (a custom plan
      beats the generic one on a table that grows), and planning ``IN ($1, …, $64)`` estimates each value on
      its own: 0.1–0.5 ms of the backend's CPU per batch statement, more than running it.
    """
    return _Among(column, prefix, count)


@compiles(_Among)
def _in_list(element: _Among, compiler: SQLCompiler, **kw: Any) -> str:
    placeholders: list[BindParameter[Any]] = [bindparam(f"{element.prefix}{index}") for index in range(element.count)]
    return compiler.process(element.column.in_(placeholders), **kw)


@compiles(_Among, "postgresql")
def _any_of_array(element: _Among, compiler: SQLCompiler, **kw: Any) -> str:
    # One parameter may serve columns of different lengths (an address matched against phone numbers and
    # channel senders): see unbounded().
    array = bindparam(element.prefix, type_=ARRAY(unbounded(element.column.type), dimensions=1))
    return compiler.process(element.column == any_(array), **kw)


def unbounded(kind: Any) -> Any:
    """``kind`` as the type of a parameter cast on PostgreSQL (``$1::TEXT[]``): a string type becomes ``TEXT``.
    A cast to ``VARCHAR(n)`` cuts a longer value short without a word, where the column itself refuses it (a
    value compared would match a shorter one; one inserted would be stored cut); and asyncpg knows ``text[]``
    without asking, where ``varchar[]`` costs every new connection a query of PostgreSQL's catalog (asyncpg's
    type introspection: 10–18 ms of the backend's CPU, measured, what fifty messages cost it end to end) the
    first time a statement takes one. A ``VARCHAR`` column compares with ``TEXT`` through its index, and takes a ``TEXT``
    value inserted, length checked."""
    return Text() if type(kind) in (String, VARCHAR) else kind


def list_length(count: int) -> int:
    """The length of list to prepare a statement for, for ``count`` values: the next power of two, so that a
    statement over lists of any length up to 256 is prepared at most nine times (:func:`values_of` pads it)."""
    return 1 << max(0, count - 1).bit_length()


def values_of(prefix: str, values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of an :func:`among` list for ``values``, for either database: the list itself (named
    ``prefix``), and its items one by one (``prefix0`` …), padded to :func:`list_length` with the last value
    (which ``IN`` finds once however often it is listed)."""
    length = list_length(len(values))
    padded = [*values, *[values[-1]] * (length - len(values))]
    return {prefix: list(values), **{f"{prefix}{index}": value for index, value in enumerate(padded)}}


def record_class(table: Table, *, first: str) -> Callable[[Any, Mapping[str, Any]], Record]:
    """The class of the rows a prepared ``SELECT`` of all of ``table``'s columns gives, for a record made from
    values already at hand (an ``INSERT`` that knows what it wrote need not read it back): ``make(value, row)``,
    ``value`` being the column ``first`` (the table's first: what the database gave, such as its key) and ``row``
    a mapping holding every other column (what was written). The values are picked in C (``itemgetter``), and the
    record made without a mapping of keyword arguments: a create makes two per message."""
    names = [_plain(column.key) for column in table.columns]
    if names[0] != first:
        raise ValueError(f"{table.name}'s first column is {names[0]}, not {first}")
    row = _row_class(names)
    pick = itemgetter(*names[1:])
    new = tuple.__new__

    def make(value: Any, values: Mapping[str, Any]) -> Record:
        return new(row, (value, *pick(values)))

    return make


def _row_class(names: list[str]) -> type[tuple[Any, ...]]:
    """A named tuple that reads like SQLAlchemy's ``Row``: ``row.name``, ``row[0]`` and ``row._mapping``."""
    base: Any = namedtuple("Row", names, rename=True)  # type: ignore[misc]  # noqa: PYI024

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(names, self))

    return Row


class FetchedRows:
    """The rows of one statement, all fetched: the part of SQLAlchemy's result API that Loft uses."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        return self.one_or_none()

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]
