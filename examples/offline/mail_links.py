#!/usr/bin/env python3
"""List the dashboard and action links of a digest's text part (.eml), one
per line: the finding, the label, the URL, separated by tabs.

usage: mail_links.py FILE.eml
"""
import email
import email.policy
import re
import sys

with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
text = msg.get_body(preferencelist=("plain",)).get_content()
finding = ""
for line in text.splitlines():
    m = re.match(r"^\* (.+)$", line)
    if m:
        finding = m.group(1)
        continue
    m = re.match(r"^\s+(Mark reviewed|Snooze \d+ days|Capability|Change|Guide|Review the whole guide[^:]*): (https?://\S+)$", line)
    if m:
        print("%s\t%s\t%s" % (finding if not m.group(1).startswith("Review the whole") else "(guide)", m.group(1), m.group(2)))
