"""Knowledge bases in the UI: the selector's endpoints through gradio_client (create, upload to the
selected KB, ask it, switch, delete), and the selector itself in the browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

pytestmark = pytest.mark.server

KB = "水利"
FACT = "星河湾水库的蓄水量为8848万立方米，由青松县水务局管理。"
FACT_QUESTION = "星河湾水库的蓄水量是多少?"


def _value(update) -> object:
    """A component's new value: the selector comes back as an update (its choices and value)."""
    return update["value"] if isinstance(update, dict) else update


def _cited(answer: dict) -> set[str]:
    return {Path(c["source"]).name for c in answer["citations"]}


def test_a_kb_is_created_filled_asked_and_deleted(client: Client, ui_app, tmp_path: Path):
    fact = tmp_path / "水库简报.txt"
    fact.write_text(f"# 水库简报\n\n{FACT}\n", encoding="utf-8")
    assert client.predict(api_name="/kbs") == ["default"]
    selected, name_box, message = client.predict(KB, api_name="/create_kb")
    assert _value(selected) == KB and selected["choices"] == [["default", "default"], [KB, KB]]
    assert name_box == "" and KB in message
    assert client.predict(api_name="/kbs") == ["default", KB]
    with pytest.raises(Exception, match="exists already"):
        client.predict(KB, api_name="/create_kb")
    with pytest.raises(Exception, match="holds no documents yet"):
        client.predict(FACT_QUESTION, None, None, "extractive", KB, api_name="/ask")

    result = client.predict([handle_file(fact)], KB, api_name="/upload")[3]
    assert result["added"] == ["水库简报.txt"] and result["n_documents"] == 1
    saved = ui_app.settings.home / "kbs" / KB / "documents" / "水库简报.txt"
    assert saved.is_file() and not (ui_app.settings.documents_dir / "水库简报.txt").exists()

    in_kb = client.predict(FACT_QUESTION, None, None, "extractive", KB, api_name="/ask")
    assert "8848万立方米" in in_kb["answer"] and _cited(in_kb) == {"水库简报.txt"}
    messages, *_ = client.predict(FACT_QUESTION, 5, "extractive", "", "", "", KB, api_name="/chat")
    assert "8848" in str(messages[-1]["content"])
    in_default = client.predict(FACT_QUESTION, None, None, "extractive", api_name="/ask")
    assert "水库简报.txt" not in _cited(in_default)
    assert [Path(d["source"]).name for d in client.predict(KB, api_name="/documents")] == ["水库简报.txt"]
    assert all(Path(d["source"]).name != "水库简报.txt" for d in client.predict(api_name="/documents"))

    with pytest.raises(Exception, match="cannot be deleted"):
        client.predict("default", api_name="/delete_kb")
    selected, message = client.predict(KB, api_name="/delete_kb")
    assert _value(selected) == "default" and KB in message
    assert client.predict(api_name="/kbs") == ["default"] and not saved.exists()
    with pytest.raises(Exception, match="no knowledge base"):
        client.predict(FACT_QUESTION, None, None, "extractive", KB, api_name="/ask")


@pytest.mark.browser
def test_the_selector_switches_the_kb_in_the_browser(page, ui_app, tmp_path: Path):
    """Create a KB in the page, upload to it, ask; switch back to default: the conversation is
    cleared and the same question is no longer answered from the KB's document."""
    page.fill("#rc-kb-name textarea, #rc-kb-name input", "browser-kb")
    page.click("#rc-kb-create")
    page.wait_for_function("document.querySelector('#rc-kb-message').innerText.includes('browser-kb')")
    page.wait_for_function("document.querySelector('#rc-status').innerText.includes('no documents yet')")
    fact = tmp_path / "水库简报.txt"
    fact.write_text(f"# 水库简报\n\n{FACT}\n", encoding="utf-8")
    try:
        page.get_by_role("tab", name="Documents").click()
        page.set_input_files("#rc-files input[type=file]", str(fact))
        page.click("#rc-upload")
        page.wait_for_function("document.querySelector('#rc-update').innerText.includes('水库简报.txt')",
                               timeout=120000)
        page.get_by_role("tab", name="Chat").click()
        page.fill("#rc-question textarea", FACT_QUESTION)
        page.click("#rc-ask")
        page.wait_for_function("document.querySelector('#rc-chat').innerText.includes('8848')", timeout=60000)

        page.click("#rc-kb input")
        page.get_by_role("option", name="default").click()
        page.wait_for_function("!document.querySelector('#rc-chat').innerText.includes('8848')")
        page.wait_for_function("document.querySelector('#rc-status').innerText.includes('Ready')")
        page.fill("#rc-question textarea", FACT_QUESTION)
        page.click("#rc-ask")
        page.wait_for_function("document.querySelectorAll('#rc-chat .message').length >= 2 && "
                               "!document.querySelector('#rc-chat').innerText.includes('…')", timeout=60000)
        assert "8848" not in page.inner_text("#rc-chat")
    finally:
        from ragchat.kbs import Registry

        registry = Registry(ui_app.settings)
        if registry.exists("browser-kb"):
            registry.delete("browser-kb")
