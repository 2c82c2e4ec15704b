"""Sums of money as shoppers write them ("3490", "5k", "350 р", "6 тысяч", "$20", "两百块"),
so that the intent reader can see them as `{price}`: the same rules write its examples
(scripts/placeholder_examples.py) and mask the messages it reads (bot/nlu/catalogue.py).

Hand-written rules, because what counts is telling a price from an order number, a phone
number, a height, a date or a bed's size in four languages.
"""

from __future__ import annotations

import re

_UNIT_AFTER = re.compile(
    r"^\s*(?:cm|см|кг|kg|斤|公斤|g\b|г\b|mm|мм|min|мин|hours?|час|days?|дн|дней|天|小时|"
    r"分钟|分鐘|years?|лет|год|岁|歲|%|percent|процент|шт|pcs?|sets?|packs?|pairs?|набор|"
    r"комплект|пар|件|条|條|套|双|雙|个|個|点|點|号线|:\d|\.\d|/\d|[x×х*]\s?\d|年|月|日|"
    r"-?(?:го|е|я)\b|th\b|st\b|nd\b|rd\b|марта|мая|числа|июня|лет)", re.IGNORECASE)


_CURRENCY = (r"(?:\s?(?:₽|руб(?:лей|ля|ль)?\.?|р\.?(?![а-я])|rub(?:les)?|roubles?|rubles?|"
             r"r(?![a-z])|块钱|块|塊|元|卢布|盧布|蚊|dollars?|euros?|usd|eur|бакс\w*|\$|€)|\s?[kк](?![a-zа-я])|"
             r"\s?(?:тыс(?:яч[а-я]*)?\.?|thousand|grand)(?![a-zа-я]))")
_NUMBER = r"\d{1,3}(?:[,\s]\d{3})+(?!\d)|\d+(?:[.,]\d+)?"
_PRICE_WITH_UNIT = re.compile(rf"(?:[$€₽]\s?)(?:{_NUMBER})|(?<![\d.])(?:{_NUMBER}){_CURRENCY}",
                              re.IGNORECASE)
_CURRENCY_FIRST = re.compile(r"(?:рубл(?:ей|я)|руб\.?)\s+(\d{2,6})(?!\d)", re.IGNORECASE)
_WORD_NUMBER = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty)\s+(?:thousand|grand)\b|"
    r"(?<![а-я])(?:одну|одна|две|три|четыре|пять|шесть|семь|восемь|девять|десять)\s+тысяч\w*|"
    r"(?<=[满滿差])[一二两三四五六七八九十]+[千万萬](?:块|塊|元)?|"
    r"(?<![几幾一二两兩三四五六七八九十])[一二两兩三四五六七八九十][一二两兩三四五六七八九十百千万萬零]*"
    r"(?:块钱|塊錢|块|塊|元(?!一次|二次|方程|素|旦|宵)|蚊)|"
    r"(?<![几幾百千万萬一二两兩三四五六七八九])[一二两兩三四五六七八九]{1,2}[百千万萬]"
    r"(?:[一二两兩三四五六七八九](?![百千万萬]))?"
    r"(?![米斤公里年人件条條次个個多倍])|"
    r"(?<![几幾])[一二两兩三四五六七八九][千万萬](?=多|出头|出頭)", re.IGNORECASE)
_NOT_PRICE_BEFORE = re.compile(
    r"(?:order|заказ\w*|номер\w*|no\.?|number|#|№|订单\w*|訂單\w*|单号|單號|编号|編號|尾号|尾號|尾數|"
    r"尾数|末五碼|手机|電話|电话|телефон\w*|tel|i'?m|i am|tall|height|рост\w*|身高|体重|體重|"
    r"我|hips|waist|грудь|бедра|обхват|since|с|в|in|year|from|track\w*|трек\w*|"
    r"i'?m only|i'?m just|"
    r"x|×|квартир\w*|кв|дом|office|street|ул)\W{0,3}$", re.IGNORECASE)
_SLANG = {"666", "886", "233", "2333", "23333", "233333", "520", "1314", "123", "1234",
          "12345", "123456", "555", "618", "1111", "1212"}


def _prices(text: str, spans: list[tuple[int, int, str]]) -> None:
    if re.search(r"\d\s?[-+*/=×]\s?\d|умножить|等於|等于|square root|корень|平方", text):
        return  # arithmetic
    for match in _CURRENCY_FIRST.finditer(text):
        _claim(spans, match.start(), match.end(), "{price}")
    for match in _PRICE_WITH_UNIT.finditer(text):
        found = match.group().strip()
        if re.fullmatch(r"\d{1,2}\s?(?:k|к)", found, re.IGNORECASE) or \
                re.search(r"\d\s?(?:тыс|thousand|grand|千|[kк])", found, re.IGNORECASE) or \
                not re.search(r"(?:r|р)\.?$", found, re.IGNORECASE) or \
                re.search(r"\d{3}", found):
            if re.fullmatch(r"\d+\s?(?:r|р)\.?", found, re.IGNORECASE) and \
                    re.match(r"\s?(?:-|р-р)", text[match.end():]):
                continue
            start = match.start() + (len(match.group()) - len(match.group().lstrip()))
            _claim(spans, start, match.end(), "{price}")
    for match in _WORD_NUMBER.finditer(text):
        if re.fullmatch(r"[一二两兩三四五六七八九][块塊]", match.group()):
            continue  # 一块黄渍: a patch, not a yuan
        _claim(spans, match.start(), match.end(), "{price}")
    for match in re.finditer(rf"(?<![A-Za-zА-Яа-яЁё0-9_.#№+])({_NUMBER})(?![A-Za-zА-Яа-яЁё0-9_])",
                             text):
        number = match.group(1)
        digits = re.sub(r"\D", "", number.split(".")[0])
        if not digits or len(digits) > 6 or int(digits) < 100 or number in _SLANG or \
                digits.startswith("0") or re.search(r"[A-Za-z]-$", text[:match.start()]):
            continue  # "LL-0932": an order number
        if re.fullmatch(r"(\d)\1+", digits) and len(digits) <= 3:
            continue  # 666, 888
        before, after = text[:match.start()], text[match.end():]
        if _NOT_PRICE_BEFORE.search(before) or _UNIT_AFTER.match(after):
            continue
        if re.match(r"\s?\d", after) or re.search(r"\+\d?\s?$|\d\s$", before):
            continue  # part of a phone number or "175/70"
        if re.match(r"\s?(?:на|x|×|х)\s?\d", after) or re.search(r"\d\s?(?:на|x|×|х)\s?$",
                                                                   before):
            continue  # "180 на 200": a bed, not a price
        if re.match(r"\s*(?:кв|корп|стр|эт|office|apt)\b", after, re.IGNORECASE):
            continue  # a house number
        if re.match(r"\s+\d{2}\s?(?:kg|кг)", after, re.IGNORECASE):
            continue  # "160 50kg": height and weight
        if re.fullmatch(r"(?:19|20)\d\d", digits) and re.search(
                r"(?:since|in|с|в|year|年)\s*$", before, re.IGNORECASE):
            continue
        _claim(spans, match.start(), match.end(), "{price}")


def _taken(spans: list[tuple[int, int, str]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e, _ in spans)


def _claim(spans: list[tuple[int, int, str]], start: int, end: int, token: str) -> bool:
    if _taken(spans, start, end):
        return False
    spans.append((start, end, token))
    return True


def price_spans(text: str, taken: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:  # type: ignore[assignment]
    """Where sums of money stand in `text`, outside the spans already `taken`."""
    spans: list[tuple[int, int, str]] = [(s, e, "") for s, e in taken]
    before = len(spans)
    _prices(text, spans)
    return [(s, e) for s, e, _ in spans[before:]]
