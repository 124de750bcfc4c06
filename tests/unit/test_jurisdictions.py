"""Shandong jurisdictions (GB/T 2260) loaded from aicc/platform/data/jurisdictions.yaml."""

from __future__ import annotations

import pytest

from aicc.platform import jurisdictions
from aicc.platform.jurisdictions import Jurisdiction, city_for_division, get, load_jurisdictions

EXPECTED_CITIES = {
    "370100": ("济南市", "Jinan"),
    "370200": ("青岛市", "Qingdao"),
    "370300": ("淄博市", "Zibo"),
    "370400": ("枣庄市", "Zaozhuang"),
    "370500": ("东营市", "Dongying"),
    "370600": ("烟台市", "Yantai"),
    "370700": ("潍坊市", "Weifang"),
    "370800": ("济宁市", "Jining"),
    "370900": ("泰安市", "Tai'an"),
    "371000": ("威海市", "Weihai"),
    "371100": ("日照市", "Rizhao"),
    "371300": ("临沂市", "Linyi"),
    "371400": ("德州市", "Dezhou"),
    "371500": ("聊城市", "Liaocheng"),
    "371600": ("滨州市", "Binzhou"),
    "371700": ("菏泽市", "Heze"),
}


def test_province_and_sixteen_cities() -> None:
    js = load_jurisdictions()
    assert js[0] == Jurisdiction("370000", "山东省", "Shandong", "province")
    cities = {j.code: (j.name, j.name_en) for j in js if j.level == "city"}
    assert cities == EXPECTED_CITIES
    assert len(js) == 17
    assert "371200" not in {j.code for j in js}  # 莱芜 merged into 济南 in 2019


def test_load_is_cached_but_returns_fresh_list() -> None:
    a, b = load_jurisdictions(), load_jurisdictions()
    assert a == b
    assert a is not b
    a.clear()
    assert len(load_jurisdictions()) == 17


def test_get() -> None:
    assert get("370200").name == "青岛市"
    with pytest.raises(KeyError):
        get("371200")
    with pytest.raises(KeyError):
        get("110000")


@pytest.mark.parametrize(
    ("division", "city"),
    [
        ("370102", "370100"),  # 历下区
        ("370100", "370100"),
        ("370211", "370200"),  # 黄岛区
        ("370202", "370200"),
        ("371202", "370100"),  # 莱城区, former 莱芜市
        ("371203", "370100"),  # 钢城区
        ("371200", "370100"),
        ("371726", "371700"),
        ("370983", "370900"),
    ],
)
def test_city_for_division(division: str, city: str) -> None:
    j = city_for_division(division)
    assert j is not None
    assert j.code == city
    assert j.level == "city"


@pytest.mark.parametrize(
    "division", ["370000", "110000", "110101", "371800", "379000", "3701", "37010A", "", None]
)
def test_city_for_division_none(division) -> None:
    assert city_for_division(division) is None


def test_bad_yaml_is_rejected() -> None:
    with pytest.raises(ValueError, match="6 digits"):
        jurisdictions._parse("jurisdictions:\n  - {code: 3701, name: x, name_en: x, level: city}\n")
    with pytest.raises(ValueError, match="duplicate"):
        jurisdictions._parse(
            "jurisdictions:\n"
            "  - {code: '370100', name: x, name_en: x, level: city}\n"
            "  - {code: '370100', name: x, name_en: x, level: city}\n"
        )
    with pytest.raises(ValueError, match="level"):
        jurisdictions._parse("jurisdictions:\n  - {code: '370100', name: x, name_en: x, level: county}\n")
