#!/usr/bin/env python3
"""What a user would otherwise write (the pattern of OpenAI's own examples): load each JSON
Lines record and walk output[].content[].annotations[] for container file citations."""
import json, sys

count = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            response = json.loads(line)
            for item in response.get("output", []):
                if item.get("type") != "message":
                    continue
                for part in item.get("content", []):
                    for annotation in part.get("annotations", []):
                        if annotation.get("type") == "container_file_citation":
                            count += 1
print(count)
