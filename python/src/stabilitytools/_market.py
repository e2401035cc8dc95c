"""``market_data.json`` (schema ``market_data/1``): the market window and the model's predictions the dashboard charts."""
from __future__ import annotations

import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ._status import number

_BAR_FIELDS = ("time", "open", "high", "low", "close", "volume")
_PREDICTION_FIELDS = ("time", "probability_up", "signal")


def timestamp(value: Any) -> str:
    """A bar's time as the contract's ISO-8601 UTC string: from a datetime (naive is taken as UTC), epoch seconds, or
    an ISO string (kept as given)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).isoformat()
    if isinstance(value, str):
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise ValueError(f"{value!r} is not an ISO-8601 time") from e
        return value
    raise TypeError(f"a time must be a datetime, epoch seconds or an ISO-8601 string (got {type(value).__name__})")


def _fields(item: Any, names: tuple, what: str) -> Dict[str, Any]:
    if isinstance(item, Mapping):
        missing = [n for n in names if n not in item]
        if missing:
            raise ValueError(f"a {what} needs {', '.join(names)}; this one lacks {', '.join(missing)}")
        return {n: item[n] for n in names}
    values = tuple(item)
    if len(values) != len(names):
        raise ValueError(f"a {what} is ({', '.join(names)}): {len(names)} values, got {len(values)}")
    return dict(zip(names, values))


def document(bars: Iterable[Any], predictions: Iterable[Any], symbol: str, source: Optional[str]) -> Dict[str, Any]:
    out_bars: List[Dict[str, Any]] = []
    for bar in bars:
        f = _fields(bar, _BAR_FIELDS, "bar")
        out_bars.append({"time": timestamp(f["time"]), **{k: number(k, f[k]) for k in _BAR_FIELDS[1:]}})
    out_predictions: List[Dict[str, Any]] = []
    for prediction in predictions:
        f = _fields(prediction, _PREDICTION_FIELDS, "prediction")
        signal = int(f["signal"])
        if signal not in (-1, 0, 1):
            raise ValueError(f"a prediction's signal is -1 (short), 0 (flat) or 1 (long), not {signal}")
        out_predictions.append({"time": timestamp(f["time"]), "probability_up": number("probability_up", f["probability_up"]),
                                "signal": signal})
    return {"symbol": symbol, "source": source, "bars": out_bars, "predictions": out_predictions}
