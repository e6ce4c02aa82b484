#!/usr/bin/env python3
"""Write a mock POS menu file (the shape of sql/seed/pos/*.json) with N
items in categories of 15, each with a description, half of them with one
or two of five modifier groups, so GET /api/menu has a realistic size.
usage: pos_menu.py N OUT.json"""
import json, sys

n, out = int(sys.argv[1]), sys.argv[2]
groups = [
    {"id": "size", "name": "Size", "min": 1, "max": 1, "modifiers": [
        {"id": "size-s", "name": "Small", "price_cents": 0},
        {"id": "size-m", "name": "Medium", "price_cents": 200},
        {"id": "size-l", "name": "Large", "price_cents": 450}]},
    {"id": "crust", "name": "Crust", "min": 1, "max": 1, "modifiers": [
        {"id": "crust-classic", "name": "Classic", "price_cents": 0},
        {"id": "crust-thin", "name": "Thin and crisp", "price_cents": 0},
        {"id": "crust-gf", "name": "Gluten-free", "price_cents": 350}]},
    {"id": "extras", "name": "Extras", "min": 0, "max": 4, "modifiers": [
        {"id": "extra-cheese", "name": "Extra mozzarella", "price_cents": 250},
        {"id": "extra-basil", "name": "Fresh basil", "price_cents": 100},
        {"id": "extra-chili", "name": "Calabrian chili", "price_cents": 150},
        {"id": "extra-egg", "name": "Soft egg", "price_cents": 200}]},
    {"id": "dip", "name": "Dip", "min": 0, "max": 2, "modifiers": [
        {"id": "dip-marinara", "name": "Marinara", "price_cents": 0},
        {"id": "dip-ranch", "name": "Herb ranch", "price_cents": 75}]},
    {"id": "ice", "name": "Ice", "min": 0, "max": 1, "modifiers": [
        {"id": "ice-no", "name": "No ice", "price_cents": 0}]},
]
names = ["Antipasti", "Salads", "Red pizzas", "White pizzas", "Calzoni", "Pasta",
         "Desserts", "Drinks", "Specials", "Sides"]
cats = []
for i in range(n):
    c = i // 15
    if c == len(cats):
        cats.append({"id": "cat-%02d" % c, "name": names[c % len(names)],
                     "description": "House %s, made to order." % names[c % len(names)].lower(),
                     "items": []})
    item = {"id": "item-%03d" % i, "name": "%s no. %d" % (names[c % len(names)].rstrip("s"), i + 1),
            "description": "Slow-proofed dough, San Marzano tomatoes, fior di latte, "
                           "olive oil and sea salt (%d)." % i,
            "price_cents": 650 + (i * 37) % 1500}
    g = [["size", "crust"], ["size", "extras"], ["dip"], ["ice"], []][i % 5]
    if g:
        item["modifier_groups"] = g
    cats[c]["items"].append(item)
json.dump({"currency": "USD", "modifier_groups": groups, "categories": cats},
          open(out, "w"), indent=1)
