#!/usr/bin/env python3
"""Writes the seed corpus (seeds/<target>/) of the fuzz targets.

Usage, from fuzz/:
    ../target/release/vigil gen --seed 11 --count 40 --regions 2 --rate 40 --threat-rate 0.6 \
        --size 300 --invalid 0.05 --late 0.1 --duplicates 0.05 > /tmp/gen.jsonl
    python3 make_seeds.py /tmp/gen.jsonl

Seeds are: `vigil gen` output, a few invented reports, the snippets of tests/data/*.tsv, the
ACLED and UCDP rows of the project's import tests, and alerts for the render target.
"""
import hashlib
import json
import os
import sys

ROOT = "seeds"


def put(target, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def rep(i, text, region="NG-BO", abducted=0, killed=0, title=None,
        t="2026-03-01T12:00:00Z", src="wire-1", lang="en"):
    r = {"id": f"seed-{i}", "event_time": t, "region": region,
         "source": {"id": src, "kind": "media", "reliability": "A", "credibility": 1},
         "language": lang, "text": text, "casualties": {"abducted": abducted, "killed": killed}}
    if title:
        r["title"] = title
    return json.dumps(r, ensure_ascii=False)


def main(gen_path):
    lines = open(gen_path, encoding="utf-8").read().splitlines()
    hand = [
        rep(1, "Gunmen abducted 25 schoolgirls near Chibok.", abducted=25),
        rep(2, "Des hommes armés ont enlevé douze femmes à Kidal.", region="ML-KD",
            abducted=12, lang="fr"),
        rep(3, "Gunmen kid\u00adnapped two traders; the town is under siege.", region="NG-<B&O>"),
        rep(4, "Militants besieged the town and killed nine.", region="NG\u0001BO", killed=9),
        rep(5, "Armed men seized a UN contractor at a roadblock; he remains in their custody.",
            title="Contractor held", t="2026-03-01T13:00:00+01:00"),
        rep(6, "No abductions were reported in the area.", region="ÉTAT-Ω"),
        rep(7, "La ville est ASSIÉGÉE depuis mardi; des combattants étrangers ont traversé "
            "la frontière.", lang="fr"),
    ]
    for i in range(0, 40, 5):
        put("engine", "\n".join(lines[i:i + 5]))
    put("engine", "\n".join(hand))
    second = hand[0].replace("seed-1", "seed-1b").replace("wire-1", "wire-2")
    put("engine", "\n".join([hand[0], second, hand[2], hand[3]]))
    for h in hand:
        put("engine", h)
        put("decode", h)
    for line in lines[:12]:
        put("decode", line)
    put("decode", '{"id":"x","event_time":"2026-01-01T00:00:00Z","region":"R","source":{"id":"s"},'
        '"text":"esc\\u00e9aped \\"q\\" \\ud83d\\ude00"}')
    put("decode", '{"id":"x"}')
    put("decode", "")
    texts = []
    data = "../tests/data"
    for name in sorted(os.listdir(data)):
        if name.endswith(".tsv"):
            for line in open(os.path.join(data, name), encoding="utf-8"):
                if not line.startswith("#") and "\t" in line:
                    texts.append(line.rstrip("\n").split("\t")[-1])
    extra = ["Gunmen kid\u00adnapped two traders", "kid\u200bnapped", "abduc\u200dted",
             "Title line\nBody: enlèvement d'œuvres ﬁghters", "ENLEVÉES à Kidal’s école",
             "e\u0301\u200b\u0301\ufeff", "\u3164\uffa0\U000e0041"]
    for t in texts[::12] + extra:
        put("tag", t)
        put("normalize", t)
    acled_h = ("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,"
               "sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,"
               "civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,"
               "longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n")
    rows = "".join(
        f"TST{i},2024-03-15,2024,1,Political violence,Violence against civilians,"
        f"Abduction/forced disappearance,Unidentified Armed Group,,3,Civilians,,7,37,"
        f"Civilian targeting,566,Western Africa,Nigeria,Borno,Gwoza,,Pulka,11.2,13.7,1,"
        f"Paper {i},National,\"Gunmen abducted {i + 2} farmers near the village.\",{i},,1710500000\n"
        for i in range(4))
    put("import", acled_h + rows + "BAD,not-a-date,2024,1,,,,,,,,,,,,,,Nigeria,Borno,,,,,,,,,,0,,\n")
    put("import", acled_h + "XYZ123,15 March 2024,2024,1,Political violence,Violence against "
        "civilians,Sexual violence,Militia,,4,Civilians,,7,47,Civilian targeting,180,Middle Africa,"
        "DR Congo,Ituri,Djugu,,Fataki,1.9,30.5,1,Radio Okapi,Subnational,\"Armed men raped women "
        "held in the camp; \"\"abducted\"\" girls not released.\",3.0,,1710500000\n")
    ucdp_h = ("id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,"
              "conflict_new_id,conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,"
              "side_a_new_id,side_a,side_b_dset_id,side_b_new_id,side_b,number_of_sources,"
              "source_article,source_office,source_date,source_headline,source_original,"
              "where_prec,where_coordinates,where_description,adm_1,adm_2,latitude,longitude,"
              "geom_wkt,priogrid_gid,country,country_id,region,event_clarity,date_prec,date_start,"
              "date_end,deaths_a,deaths_b,deaths_civilians,deaths_unknown,best,high,low,gwnoa,"
              "gwnob\n")
    put("import", ucdp_h
        + "244657,NGA-2020-1-1,2020,1,Clear,3,1,1,IS - Civilians,1,1,IS - Civilians,1,1,IS,1,1,"
          "Civilians,2,,,,Militants besieged the town and killed nine,,1,Town,Town (Borno),"
          "Borno state,,11.8,13.1,,,Nigeria,475,Africa,1,1,2020-01-01 00:00:00.000,"
          "2020-01-01 00:00:00.000,0,0,9,0,9,9,9,475,\n"
          "244658,NGA-2020-1-2,2020,1,Clear,1,1,1,Government of Nigeria - ISWAP,1,1,x,1,1,"
          "Government of Nigeria,1,1,ISWAP,2,,,,Gunmen kidnapped 30 villagers,,1,Town,Town,"
          "Borno state,,11.8,13.1,,,Nigeria,475,Africa,1,1,2020-01-02,2020-01-02,0,0,0,0,1.5e1,"
          "9,9,475,\n")
    put("import", "\ufeff" + "\n".join(lines[:6]))
    put("import", "\n".join(hand[:4]))
    sep = "\x01"
    put("render", sep.join(["\x00a-1", "rule <x>", "NG-BO & \"q\"", "threat:abduction",
                            "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "RF7", "RF13", "r-1",
                            "r-2", "7.8", "2026-03-01T18:00:00Z", "2026-03-02T00:00:00Z",
                            "Critical firing ]]> in <R&D>."]))
    put("render", "\x02" + sep.join(["a", "b", "NG\x0bBO\ufffe", "s", "x", "y"]))


if __name__ == "__main__":
    main(sys.argv[1])
