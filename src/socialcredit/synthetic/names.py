"""Name pools for synthetic subjects: surnames weighted by frequency and given-name characters
from Faker's zh_CN provider data, precomputed once (calling Faker per row would cost minutes at
national scale), and the words enterprise names and mailboxes are made of."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

BRAND_CHARS = (
    "鑫华泰盛恒博瑞达宏兴源德信安通联创金丰嘉佳祥荣昌隆顺宇锦天海新远和汇"
    "正浩腾亿万东方中智聚优美星辰凯森永润晟晨光明辉康旭益"
)
INDUSTRIES = (
    "科技", "网络科技", "信息技术", "电子商务", "贸易", "商贸", "建筑工程", "建材", "装饰工程",
    "房地产开发", "物业管理", "餐饮管理", "食品", "农业开发", "物流", "运输", "机械设备",
    "电子", "新材料", "化工", "服装", "文化传媒", "广告", "教育咨询", "医药", "医疗器械",
    "环保科技", "汽车销售", "投资管理", "企业管理咨询", "劳务", "家具", "纺织", "能源",
)  # fmt: skip
COMPANY_SUFFIXES = (("有限公司", 0.85), ("有限责任公司", 0.12), ("股份有限公司", 0.03))
SHOPS = (
    "便利店", "超市", "餐馆", "五金店", "服装店", "理发店", "经营部", "商行", "汽修店", "水果店",
)  # fmt: skip
COOPS = (
    "蔬菜种植专业合作社", "果蔬专业合作社", "水稻种植专业合作社", "茶叶专业合作社",
    "养殖专业合作社", "农机专业合作社",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
ENTERPRISE_MAILBOXES = ("info", "service", "hr", "admin", "office", "contact")


@dataclass(frozen=True)
class NamePools:
    surnames: pa.Array
    surname_p: npt.NDArray[np.float64]
    given: pa.Array  # single characters: male ones first, then female
    n_male: int
    brands: pa.Array


@lru_cache(maxsize=1)
def name_pools() -> NamePools:
    from faker.providers.company.zh_CN import Provider as Company
    from faker.providers.person.zh_CN import Provider as Person

    surnames = list(Person.last_names.keys())
    weights = np.array(list(Person.last_names.values()), dtype=np.float64)
    male = sorted(set("".join(Person.first_names_male)))
    female = sorted(set("".join(Person.first_names_female)))
    # Faker's two-character company prefixes that are plain words, plus our own pairs.
    faker_brands = sorted(
        {p for p in Company.company_prefixes if len(p) == 2 and all(is_han(c) for c in p)}
    )
    pairs = [a + b for a in BRAND_CHARS for b in BRAND_CHARS if a != b]
    return NamePools(
        surnames=pa.array(surnames),
        surname_p=weights / weights.sum(),
        given=pa.array(male + female),
        n_male=len(male),
        brands=pa.array(faker_brands + pairs),
    )


def is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"
