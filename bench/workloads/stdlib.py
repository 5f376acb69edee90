"""A realistic mix of the standard library: dataclasses, json and re."""
import timed  # noqa: F401 (reports the run time)
import dataclasses
import json
import re
import sys

WORD = re.compile(r"[a-z]+")


@dataclasses.dataclass
class Record:
    name: str
    tags: list
    score: float = 0.0

    def keywords(self):
        return WORD.findall(self.name.lower())


def parse(line):
    data = json.loads(line)
    return Record(data["name"], data["tags"], data.get("score", 0.0))


def summarize(records):
    counts = {}
    for record in records:
        for word in record.keywords():
            counts[word] = counts.get(word, 0) + 1
    return dataclasses.asdict(max(records, key=lambda r: r.score)), counts


def main(n):
    lines = [json.dumps({"name": "Item %d of Batch %d" % (i, i % 7), "tags": ["a", "b"], "score": i % 13})
             for i in range(n)]
    best, counts = summarize([parse(line) for line in lines])
    print(best["name"], len(counts))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
