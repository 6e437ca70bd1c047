from __future__ import annotations

from starlette.datastructures import MultiDict

from loft.kit.forms import Form


def test_a_form_reads_like_starlette_s_multidict() -> None:
    pairs = [("To", "+15558675310"), ("MediaUrl", "https://a.example/1"), ("MediaUrl", "https://a.example/2"),
             ("Body", "")]
    form, reference = Form(pairs), MultiDict(pairs)
    for key in ("To", "MediaUrl", "Body", "From"):
        assert form.get(key) == reference.get(key)
        assert form.get(key, "absent") == reference.get(key, "absent")
        assert form.getlist(key) == reference.getlist(key)
        assert (key in form) == (key in reference)
    assert form.get("MediaUrl") == "https://a.example/2"  # the last of a repeated key, as Starlette gives it
    assert form["To"] == "+15558675310"
