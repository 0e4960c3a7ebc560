"""Writes the labelled duplicate set for `cargo bench --bench duplicates` (issue #23): realistic plant
proposals, and for 240 of them a rewording by another worker — other words for the same things, another
order, details dropped or added, typos, traditional characters, full-width forms, numbers written as
digits or in Chinese. Deterministic (seeded); run it again after changing it, and commit pairs.jsonl.

    python3 benches/duplicates/make_pairs.py

Each line of pairs.jsonl: {"id", "title", "body"} for an original (every proposal of the corpus), and
for the labelled ones also {"dup_title", "dup_body"}: the rewording, whose source is "id".
"""

import json
import random
from pathlib import Path

rng = random.Random(23)

PLANTS = ["炼钢一厂", "热轧车间", "烧结车间", "水泥二线", "玻璃熔窑车间", "机加工车间", "铸造车间", "焦化厂", "冷轧车间", "装配车间"]

# (equipment, its problems, each problem's fix and the carrier it saves)
EQUIPMENT = {
    "空压机": [("夜间低负荷时仍满载运行，卸载空转耗电", "加装变频器，按管网压力调速", "电"),
               ("管网多处接头泄漏，压力掉得快", "逐段查漏并更换快插接头，建立每周巡检", "电"),
               ("排气温度高，余热直接排掉", "加装余热回收装置给浴室和车间供热水", "蒸汽")],
    "循环水泵": [("出口阀门常年只开一半，节流损失大", "改为变频调速，阀门全开", "电"),
                ("泵的效率低，叶轮磨损严重", "更换高效节能泵并切削叶轮匹配工况", "电")],
    "冷却塔": [("风机一年四季全速运行", "按出水温度自动启停风机并调速", "电"),
              ("飘水严重，补水量大", "加装收水器，修补填料", "水")],
    "加热炉": [("炉门密封不严，冒火跑热", "更换炉门密封并加装炉压自动控制", "天然气"),
              ("空燃比靠人工调整，燃烧不充分", "加装烟气氧含量在线分析，自动调节空燃比", "天然气"),
              ("排烟温度高达五百度", "加装空气预热器回收烟气余热", "天然气")],
    "回转窑": [("筒体表面散热损失大", "筒体外加装余热回收夹套，热水送生活区", "煤"),
              ("窑尾漏风，热耗高", "更换窑尾鱼鳞片密封", "煤")],
    "球磨机": [("钢球级配不合理，台时产量低", "重新配球并加装磨音监测", "电"),
              ("衬板磨损，电耗上升", "更换新型节能衬板", "电")],
    "蒸汽管网": [("多处保温层破损，管道散热严重", "更换破损保温，阀门加装保温套", "蒸汽"),
                ("疏水阀失效，大量新蒸汽直排", "更换疏水阀并定期检测", "蒸汽"),
                ("冷凝水直接排放", "回收冷凝水送锅炉给水", "水")],
    "照明": [("车间高压钠灯耗电大，白天也常开", "更换为LED灯并按照度分区控制", "电"),
            ("厂区路灯整夜全亮", "改为光控加时控，后半夜隔盏关灯", "电")],
    "电机": [("老旧电机效率低，负载率不到一半", "更换为二级能效永磁电机", "电"),
            ("风机电机长期工频运行", "加装变频器按风量调节", "电")],
    "变压器": [("两台变压器同时运行，负载率很低", "低负荷时段切除一台，经济运行", "电"),
              ("老式变压器空载损耗大", "更换为节能型非晶合金变压器", "电")],
    "锅炉": [("排污量大，热量随排污水流失", "加装连续排污扩容器回收闪蒸汽", "煤"),
            ("给水未预热，燃料消耗高", "利用烟气余热预热给水", "煤")],
    "液压系统": [("油温高，冷却水用量大", "更换为变量泵系统，减少溢流发热", "电"),
                ("泄漏点多，液压油消耗大", "更换密封件并规范管路布置", "电")],
    "焊机": [("焊机空载时间长，待机耗电", "加装空载自动断电装置", "电")],
    "天车": [("大车电机频繁启停，电阻调速能耗大", "改为变频调速，制动能量回馈电网", "电")],
    "喷涂线": [("烘干炉排风量过大，热量被抽走", "按工件流量调节排风，废气余热预热新风", "天然气")],
}

SYNONYMS = [
    ("空压机", "空气压缩机"), ("泄漏", "漏气"), ("变频器", "变频装置"), ("余热", "废热"), ("电机", "马达"),
    ("更换", "换成"), ("加装", "增设"), ("降低", "减少"), ("节约", "节省"), ("建议", "提议"), ("严重", "比较厉害"),
    ("车间", "工段"), ("运行", "运转"), ("损失", "损耗"), ("回收", "再利用"), ("保温", "隔热"), ("冷凝水", "凝结水"),
    ("照明", "灯光"), ("效率低", "效率不高"), ("耗电", "费电"), ("阀门", "阀"), ("自动", "自动化"), ("排放", "排掉"),
    ("循环水泵", "循环泵"), ("冷却塔", "凉水塔"), ("疏水阀", "疏水器"), ("定期", "按时"), ("调速", "调节转速"),
]

TYPOS = {"阀": "伐", "泵": "蹦", "耗": "号", "损": "顺", "压": "鸭", "漏": "露", "炉": "护", "频": "平", "热": "然", "换": "焕", "装": "妆", "温": "瘟"}

TRADITIONAL = {"电": "電", "节": "節", "热": "熱", "炉": "爐", "气": "氣", "机": "機", "设": "設", "备": "備", "压": "壓", "风": "風",
               "温": "溫", "废": "廢", "环": "環", "减": "減", "阀": "閥", "门": "門", "损": "損", "变": "變", "频": "頻", "调": "調",
               "灯": "燈", "锅": "鍋", "余": "餘", "发": "發", "车": "車", "间": "間", "产": "產", "万": "萬", "时": "時", "运": "運"}

CN_DIGITS = "零一二三四五六七八九"


def chinese(n):
    """A whole number in Chinese numerals, as workers write them (35 → 三十五, 250 → 二百五十)."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if rest == 0 else ("零" + CN_DIGITS[rest] if rest < 10 else chinese(rest) if rest >= 20 else "一" + chinese(rest))
        return CN_DIGITS[n // 100] + "百" + tail
    if n < 10000:
        rest = n % 1000
        tail = "" if rest == 0 else ("零" + chinese(rest) if rest < 100 else chinese(rest))
        return CN_DIGITS[n // 1000] + "千" + tail
    return chinese(n // 10000) + "万" + ("" if n % 10000 == 0 else chinese(n % 10000))


def proposal(i):
    equipment = rng.choice(list(EQUIPMENT))
    problem, fix, carrier = rng.choice(EQUIPMENT[equipment])
    plant = rng.choice(PLANTS)
    number = rng.choice([2, 3, 4, 6, 8, 12, 16, 24, 35, 48])
    saving = rng.choice([12, 18, 25, 36, 40, 55, 80, 120, 150, 240, 360])
    unit = {"电": "万千瓦时", "蒸汽": "吨蒸汽", "天然气": "万立方米天然气", "煤": "吨标煤", "水": "吨水"}[carrier]
    title = f"{equipment}{fix.split('，')[0]}"
    sentences = [
        f"{plant}共有{equipment}{number}台，{problem}。",
        f"建议{fix}。",
        f"按去年运行记录估算，每年可节约{saving}{unit}，投资约{rng.choice([5, 8, 12, 20, 30, 45])}万元，一年半左右收回。",
        rng.choice(["改造可以利用检修期间完成，不影响生产。", "我们班组可以配合施工，先在一台设备上试点。",
                    "类似做法在兄弟单位已经用过，效果稳定。", "需要设备科配合提供备件和图纸。"]),
    ]
    return {"id": i, "title": title, "body": "".join(sentences), "equipment": equipment, "number": number, "saving": saving}


def reword(p):
    """Another worker's account of the same idea."""
    title, body = p["title"], p["body"]
    sentences = [s + "。" for s in body.split("。") if s]
    # Another order, a detail dropped, a detail of their own.
    rng.shuffle(sentences)
    if len(sentences) > 2 and rng.random() < 0.6:
        sentences.pop(rng.randrange(len(sentences)))
    if rng.random() < 0.5:
        sentences.insert(0, rng.choice(["我在巡检时发现，", "最近班组讨论了一个问题：", "这个问题存在很久了，", "说一个老问题，"]))
    body = "".join(sentences)
    # Other words for the same things.
    for a, b in rng.sample(SYNONYMS, len(SYNONYMS)):
        if rng.random() < 0.5:
            body = body.replace(a, b)
            title = title.replace(a, b)
    # Numbers in Chinese, or the other way round.
    if rng.random() < 0.5:
        for n in (p["saving"], p["number"]):
            body = body.replace(str(n), chinese(n), 1)
    # Typos.
    for _ in range(rng.choice([0, 1, 2])):
        chars = [i for i, c in enumerate(body) if c in TYPOS]
        if chars:
            i = rng.choice(chars)
            body = body[:i] + TYPOS[body[i]] + body[i + 1:]
    # Traditional characters (a worker on a phone set to traditional input).
    if rng.random() < 0.25:
        body = "".join(TRADITIONAL.get(c, c) for c in body)
        title = "".join(TRADITIONAL.get(c, c) for c in title)
    # Full-width digits and letters.
    if rng.random() < 0.25:
        body = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in body)
    # A title of their own, or none worth the name.
    if rng.random() < 0.3:
        title = rng.choice([f"关于{p['equipment']}的建议", f"{p['equipment']}节能", "节能小建议", f"{p['equipment']}问题"])
    return title, body


def main():
    out = Path(__file__).with_name("pairs.jsonl")
    corpus = [proposal(i) for i in range(1, 2001)]
    labelled = set(rng.sample(range(len(corpus)), 240))
    with out.open("w", encoding="utf-8") as f:
        for k, p in enumerate(corpus):
            row = {"id": p["id"], "title": p["title"], "body": p["body"]}
            if k in labelled:
                row["dup_title"], row["dup_body"] = reword(p)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{out}: {len(corpus)} proposals, {len(labelled)} with a rewording")


main()
