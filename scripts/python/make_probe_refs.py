"""Make the linear-probe reference fixture with scikit-learn (run once, commit the output).

    python3 -m venv /tmp/skvenv && /tmp/skvenv/bin/pip install scikit-learn numpy
    /tmp/skvenv/bin/python scripts/python/make_probe_refs.py

Writes test/fixtures/probe/reference.json:
  logistic[]   small datasets (features rounded to 4 decimals, so the JSON holds the exact inputs)
               with LogisticRegression(C, solver='lbfgs', tol=1e-10, max_iter=10000) fitted on the
               raw features: coef_, intercept_ and predict_proba for every row. One multiclass set at
               C=1 and C=0.1, and one binary set (sklearn's binary coef_ is a single row: the
               difference between class 1's and class 0's multinomial rows).
  scores[]     (truth, predicted) label vectors with accuracy_score and f1_score macro / micro,
               including a class that is never predicted and one that is only predicted.
CI never runs this: the TypeScript tests read only its committed output.
"""
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "fixtures" / "probe" / "reference.json"
SEED = 1086


def make_blobs(rng, class_count, rows_per_class, dims, spread):
    """Gaussian clusters whose centres sit close enough together that the classes overlap."""
    centres = rng.normal(scale=1.5, size=(class_count, dims))
    # Unequal feature scales, so the fit is not accidentally well conditioned.
    scales = np.linspace(0.5, 3.0, dims)
    x = np.concatenate([(centres[k] + rng.normal(scale=spread, size=(rows_per_class, dims))) * scales
                        for k in range(class_count)])
    y = np.repeat(np.arange(class_count), rows_per_class)
    order = rng.permutation(len(y))
    return np.round(x[order], 4), y[order]


def fit_case(name, x, y, c):
    model = LogisticRegression(C=c, solver="lbfgs", tol=1e-10, max_iter=10000).fit(x, y)
    return {
        "name": name,
        "c": c,
        "classCount": int(len(model.classes_)),
        "x": x.tolist(),
        "y": y.tolist(),
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "proba": model.predict_proba(x).tolist(),
        "iterations": int(model.n_iter_[0]),
    }


def score_case(name, truth, predicted):
    return {
        "name": name,
        "truth": truth,
        "predicted": predicted,
        "accuracy": accuracy_score(truth, predicted),
        "macroF1": f1_score(truth, predicted, average="macro"),
        "microF1": f1_score(truth, predicted, average="micro"),
    }


def main():
    rng = np.random.default_rng(SEED)
    x_multi, y_multi = make_blobs(rng, class_count=4, rows_per_class=30, dims=6, spread=1.2)
    x_bin, y_bin = make_blobs(rng, class_count=2, rows_per_class=40, dims=5, spread=1.5)
    logistic = [
        fit_case("multiclass C=1", x_multi, y_multi, 1.0),
        fit_case("multiclass C=0.1", x_multi, y_multi, 0.1),
        fit_case("binary C=1", x_bin, y_bin, 1.0),
    ]
    truth_rand = rng.integers(0, 5, size=40).tolist()
    pred_rand = rng.integers(0, 5, size=40).tolist()
    scores = [
        score_case("perfect", [0, 1, 2, 2, 1, 0], [0, 1, 2, 2, 1, 0]),
        score_case("class 2 never predicted", [0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 0, 1, 0]),
        score_case("class 3 only predicted", [0, 1, 1, 2, 2, 0], [0, 1, 3, 2, 3, 0]),
        score_case("all wrong", [0, 0, 1, 1], [1, 1, 0, 0]),
        score_case("random 5 classes", truth_rand, pred_rand),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"sklearn": sklearn.__version__, "numpy": np.__version__, "seed": SEED,
           "logistic": logistic, "scores": scores}
    OUT.write_text(json.dumps(doc) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), sklearn {sklearn.__version__}")


if __name__ == "__main__":
    main()
