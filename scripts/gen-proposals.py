#!/usr/bin/env python3
"""Prints N deterministic Chinese proposals as JSON Lines for `greenline import proposals` (benchmarks, load),
numbered from FIRST (default 0; external ids BENCH-<number>).
Enterprises 鞍钢股份, 徐工机械 and 海螺水泥 must exist in the target database.
    scripts/gen-proposals.py N [FIRST]"""
import json, sys, random
n = int(sys.argv[1])
first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
random.seed(7 + first)
ents = ["鞍钢股份", "徐工机械", "海螺水泥"]
what = ["余热回收", "变频改造", "空压机泄漏治理", "窑头保温", "冷却水循环利用", "电机能效提升", "错峰用电"]
where = ["转炉", "轧钢加热炉", "水泥回转窑", "铸造车间", "空压站", "篦冷机", "焊装线"]
status = ["SUBMITTED", "EVALUATING", "ACCEPTED", "REJECTED", "INCUBATING", "ADOPTED"]
for i in range(first, first + n):
    w, p = random.choice(what), random.choice(where)
    s = random.choice(status)
    rec = {
        "external_id": f"BENCH-{i:07d}",
        "title": f"{p}{w}方案第{i}号",
        "body": f"{p}目前能耗偏高，建议实施{w}，预计年节电{random.randint(1, 900)}万千瓦时，节约标煤{random.randint(10, 3000)}吨。",
        "category": "ENERGY_SAVING",
        "enterprise": random.choice(ents),
        "status": s,
        "submitted_at": f"2025-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
        "tags": [w, p],
        "authors": ["王强", "李娜"],
        "savings": {"electricity_kwh": random.randint(1000, 9000000), "money_yuan": random.randint(1000, 900000)},
    }
    if s == "ADOPTED":
        rec["verified_savings"] = {"electricity_kwh": random.randint(1000, 9000000), "investment_yuan": 50000}
    print(json.dumps(rec, ensure_ascii=False))
