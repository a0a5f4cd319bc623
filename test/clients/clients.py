"""Drives the real openai, langchain-openai and huggingface_hub clients against a served biovec.

Run by test/clients.test.ts: argv[1] is a JSON file {url, token, model, texts, vectors}, where
vectors are `biovec embed`'s for texts on the same model. Prints one JSON object per check
({"check", "status": "pass" | "fail", "detail"}) and exits 0 even when a check fails:
the vitest side asserts each check by name, so a failure names what broke.
"""
import json
import sys
import traceback

TOLERANCE = 1e-6


def report(check, status, detail=""):
    print(json.dumps({"check": check, "status": status, "detail": detail}), flush=True)


def assert_close(got, want, what):
    got = [list(map(float, v)) for v in got]
    if len(got) != len(want):
        raise AssertionError(f"{what}: {len(got)} vectors, expected {len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        if len(g) != len(w):
            raise AssertionError(f"{what}[{i}]: {len(g)} dims, expected {len(w)}")
        worst = max(abs(a - b) for a, b in zip(g, w))
        if worst > TOLERANCE:
            raise AssertionError(f"{what}[{i}]: max abs diff {worst} over {TOLERANCE}")


def run(check, fn):
    try:
        detail = fn()
        report(check, "pass", detail or "")
    except Exception as err:  # noqa: BLE001 - every failure is reported, by check
        report(check, "fail", f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    url, token, model, texts, vectors = cfg["url"], cfg["token"], cfg["model"], cfg["texts"], cfg["vectors"]

    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0)

    def openai_single():
        res = client.embeddings.create(model=model, input=texts[0], encoding_format="float")
        assert_close([res.data[0].embedding], vectors[:1], "single")
        assert res.model == model, res.model

    def openai_batch():
        res = client.embeddings.create(model=model, input=texts, encoding_format="float")
        assert [d.index for d in res.data] == list(range(len(texts)))
        assert_close([d.embedding for d in res.data], vectors, "batch")
        assert res.usage.prompt_tokens > 0

    def openai_base64_default():
        # No encoding_format: the SDK asks for base64 and decodes it itself.
        res = client.embeddings.create(model="text-embedding-3-small", input=texts)
        assert_close([d.embedding for d in res.data], vectors, "base64 default")
        return f"answered as {res.model}"

    def openai_error_reason():
        try:
            client.embeddings.create(model=model, input=["fine", "   "])
        except openai.UnprocessableEntityError as err:
            text = str(err)
            assert "/input/1" in text, f"the reason is not in the exception text: {text!r}"
            assert err.code == "invalid-input" and err.param == "input", (err.code, err.param)
            return text
        raise AssertionError("a blank input was accepted")

    def openai_token_ids_refused():
        try:
            client.embeddings.create(model=model, input=[[0, 100, 2]])
        except openai.UnprocessableEntityError as err:
            assert "check_embedding_ctx_length=False" in str(err), str(err)
            return str(err)
        raise AssertionError("token ids were accepted")

    def openai_models_list():
        ids = [m.id for m in client.models.list()]
        assert ids == [model], ids

    run("openai embeddings single", openai_single)
    run("openai embeddings batch", openai_batch)
    run("openai embeddings base64 default", openai_base64_default)
    run("openai error reason", openai_error_reason)
    run("openai token ids refused", openai_token_ids_refused)
    run("openai models list", openai_models_list)

    from langchain_openai import OpenAIEmbeddings

    def langchain_raw_text():
        emb = OpenAIEmbeddings(base_url=f"{url}/v1", api_key=token, model=model, check_embedding_ctx_length=False)
        assert_close([emb.embed_query(texts[0])], vectors[:1], "embed_query")
        assert_close(emb.embed_documents(texts), vectors, "embed_documents")

    def langchain_defaults():
        # The default check_embedding_ctx_length=True tokenizes with tiktoken (cl100k_base,
        # fetched from OpenAI's blob store on first use) and sends the ids, which this server
        # refuses with what to set instead. Offline, a byte-level stand-in encoding takes
        # cl100k_base's place: LangChain's code path (ids on the wire) is the same.
        import tiktoken

        how = "with tiktoken's cl100k_base"
        try:
            tiktoken.get_encoding("cl100k_base")
        except Exception as err:  # noqa: BLE001 - offline: the encoding cannot be fetched
            stand_in = tiktoken.Encoding(name="byte-stand-in", pat_str=r"\S+|\s+", mergeable_ranks={bytes([b]): b for b in range(256)}, special_tokens={})
            real_get = tiktoken.get_encoding
            tiktoken.get_encoding = lambda name: stand_in if name == "cl100k_base" else real_get(name)
            how = f"with a byte-level stand-in for cl100k_base ({type(err).__name__} fetching it)"
        emb = OpenAIEmbeddings(base_url=f"{url}/v1", api_key=token, model=model, max_retries=0)
        for call in (lambda: emb.embed_query(texts[0]), lambda: emb.embed_documents(texts)):
            try:
                call()
            except openai.UnprocessableEntityError as err:
                assert "check_embedding_ctx_length=False" in str(err), str(err)
            else:
                raise AssertionError("tiktoken ids were embedded")
        return f"refused {how}, naming check_embedding_ctx_length=False"

    run("langchain check_embedding_ctx_length=False", langchain_raw_text)
    run("langchain defaults", langchain_defaults)

    from huggingface_hub import InferenceClient

    def hf_feature_extraction():
        hf = InferenceClient(base_url=url, api_key=token)
        got = hf.feature_extraction(texts[0])
        assert got.shape == (1, len(vectors[0])), got.shape
        assert_close(got.tolist(), vectors[:1], "feature_extraction")
        other = hf.feature_extraction(texts[1], normalize=False)
        assert_close(other.tolist(), vectors[1:2], "feature_extraction(normalize=False)")
        # huggingface_hub spells TEI's Left/Right in lower case; an over-long text, cut at its start.
        long_text = "word " * 400 + texts[0]
        cut = hf.feature_extraction(long_text, truncate=True, truncation_direction="left")
        assert cut.shape == (1, len(vectors[0])), cut.shape

    run("huggingface_hub feature_extraction", hf_feature_extraction)


if __name__ == "__main__":
    main()
