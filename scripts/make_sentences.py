"""Write dlik/data/sentences.txt: original English sentences (dedicated to the public domain)
with numbers, dates, money, abbreviations and punctuation. Deterministic (seed 7).

    python scripts/make_sentences.py
"""

from __future__ import annotations

import random
from pathlib import Path

HAND = """The old lighthouse keeper counted 142 ships in the harbour last winter.
Dr. Hale said the bridge would open on March 3rd, 1894, weather permitting.
A loaf of bread cost $1.25 at the corner shop on Elm St. that spring.
Nobody expected the river to rise so quickly, yet by noon the fields were under water.
Mr. Grant kept his accounts in a small green book, with every penny written down.
The train from the north arrived at 6:45, nearly twenty minutes late.
She planted 36 apple trees along the southern wall of the garden.
"Where have you been?" asked the clerk, without looking up from his papers.
The committee met on the 14th of June and voted seven to two in favour.
Heavy snow closed the mountain pass for the first time in 30 years.
The museum holds more than 2,500 maps, some older than the city itself.
After the storm, the fishermen mended their nets in silence.
He paid $12.50 for the lamp and carried it home under his arm.
Captain Reyes ordered the crew to lower the sails before dark.
In 1907 the school had only 48 pupils and a single stove for heat.
The baker rises at four o'clock, long before the streets are awake.
Our neighbour, Mrs. Oakley, plays the violin every Sunday evening.
The price of coal rose by 15 percent during the cold months.
A thin fog crept over the marsh, hiding the path from view.
The doctor wrote three letters, sealed them, and sent them by the morning post.
There were 9 chairs in the hall, but only 8 guests came to dinner.
The clock on the tower has stopped at a quarter past two.
Farmers brought wheat, barley, and oats to the market on Tuesday.
The library will be closed from December 24th to January 2nd.
Two hundred and six bones make up the human skeleton.
The court heard the case on April 9th and gave its verdict the next day.
He walked 18 miles to the coast and slept beneath an upturned boat.
The recipe calls for 2 cups of flour, 3 eggs, and a pinch of salt.
Lt. Moore reported that the road to the village was clear.
A bright comet was seen low in the western sky in 1882.
The ferry carries 320 passengers and a dozen carts on each crossing.
Rain drummed on the tin roof until the children fell asleep.
Professor Lind measured the temperature at noon: it was 28 degrees.
The printer sold 4,000 copies of the almanac in a single month.
Why would anyone build a house so close to the cliff?
The mayor promised a new well for every street by 1912.
A pair of boots cost $3.75, which was more than a week's wages.
The telegraph office stays open until 10 p.m. on weekdays.
Bees had made their hive inside the wall of the old church.
The expedition set out on May 1st with 60 mules and 11 guides.
Every morning the postman whistles the same tune at our gate.
The treaty was signed in a small room above a tailor's shop.
They found 7 gold coins buried beneath the kitchen floor.
Gen. Ward reviewed the troops on the parade ground at dawn.
The garden wall is 120 feet long and covered in ivy.
Please return the borrowed books before the end of the month.
The factory whistle blows at 7 a.m. and again at 6 p.m.
A gust of wind carried the letter over the fence and into the pond.
The orchestra played for 2 hours without a single pause.
The village has one inn, two churches, and 14 farms.""".splitlines()

NAMES = ["Mr. Ashford", "Mrs. Bell", "Dr. Carver", "Miss Dunn", "Capt. Ellis", "Prof. Finch",
         "Mr. Graves", "Mrs. Holt", "Dr. Ingram", "Sgt. Jolly", "Mr. Keane", "Mrs. Lowe",
         "the ferryman", "the schoolmistress", "the young clerk", "the old shepherd",
         "my grandmother", "the station master", "the blacksmith", "a travelling merchant"]
PLACES = ["Oak St.", "the north road", "Harbour Lane", "the market square", "Mill Street",
          "the river bank", "Kingsbridge", "the upper meadow", "St. Anne's church",
          "the railway yard", "Lowther Hall", "the valley farm", "the east gate"]
THINGS = ["barrels of apples", "sacks of grain", "wooden crates", "bundles of letters",
          "spools of thread", "jars of honey", "loaves of bread", "bolts of cloth",
          "copper pans", "oil lamps", "iron nails", "blank ledgers", "glass bottles"]
VERBS = ["carried", "counted", "sold", "repaired", "painted", "delivered", "weighed",
         "stacked", "inspected", "bought", "lost", "found", "mended"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
ORD = {1: "1st", 2: "2nd", 3: "3rd", 21: "21st", 22: "22nd", 23: "23rd", 31: "31st"}
WEATHER = ["a cold wind blew from the sea", "the sky was clear and pale",
           "rain fell all afternoon", "the frost lay thick on the fields",
           "a warm mist rose from the river", "thunder rolled over the hills"]
TEMPLATES = [
    "{name} {verb} {n} {things} near {place} on {month} {day}, {year}.",
    "On {month} {day}, {name} paid ${dollars}.{cents:02d} for {n} {things}.",
    "By {hour}:{minute:02d}, {name} had {verb} {n} {things}; then {weather}.",
    "\"How many {things} are left?\" asked {name}. \"Only {n},\" came the reply.",
    "In {year}, {name} moved to {place}, where {weather} most evenings.",
    "The report from {place} listed {big:,} {things} and {n} carts.",
    "{name} walked {n} miles to {place}, although {weather}.",
    "When {weather}, {name} {verb} the {things} and went home early.",
    "It was {percent} percent cheaper to buy {things} at {place} in {year}.",
    "Between {month} and {month2}, {name} {verb} exactly {big:,} {things}.",
]


def _fill(rng: random.Random, template: str) -> str:
    day = rng.randint(1, 28)
    words = dict(name=rng.choice(NAMES), place=rng.choice(PLACES), things=rng.choice(THINGS),
                 verb=rng.choice(VERBS), n=rng.randint(2, 99), month=rng.choice(MONTHS),
                 month2=rng.choice(MONTHS), day=ORD.get(day, f"{day}th"),
                 year=rng.randint(1850, 1930), dollars=rng.randint(1, 40),
                 cents=rng.choice([0, 5, 10, 25, 50, 75, 99]), hour=rng.randint(1, 12),
                 minute=rng.randint(0, 59), weather=rng.choice(WEATHER),
                 big=rng.randint(100, 9000), percent=rng.randint(5, 60))
    text = template.format(**words)
    return text[0].upper() + text[1:]


def make_sentences(n: int = 340, seed: int = 7) -> list[str]:
    """Return the hand-written sentences followed by templated ones, n in all, no duplicates."""
    rng = random.Random(seed)
    out = list(HAND)
    seen = set(out)
    while len(out) < n:
        s = _fill(rng, rng.choice(TEMPLATES))
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


if __name__ == "__main__":
    path = Path(__file__).resolve().parents[1] / "dlik" / "data" / "sentences.txt"
    header = ("# Original sentences written for dlik (public domain, CC0), made by\n"
              "# scripts/make_sentences.py: 50 hand-written, the rest from templates.\n")
    path.write_text(header + "\n".join(make_sentences()) + "\n")
    print(f"wrote {path}")
