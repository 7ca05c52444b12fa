"""Write ``data/sample_posts.csv``, the small sample export bundled with tonecls.

Every post is composed from the hand-written templates and vocabulary below (nothing is taken
from a real dataset), so its ``sentiment`` and ``emotion`` labels are the ones of the template
it was written from. The output is deterministic for a given ``--seed``.

    python scripts/make_sample_data.py            # -> data/sample_posts.csv
    python scripts/make_sample_data.py --seed 7 --out /tmp/other.csv
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tonecls.io import ExportWriter

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "sample_posts.csv"
DEFAULT_SEED = 20261124

# --- vocabulary ----------------------------------------------------------------------------

SLOTS = {
    "thing": ["the new update", "this phone", "the bus service", "my landlord", "the wifi",
              "customer support", "the delivery app", "the gym", "the city council", "my laptop",
              "the train", "the coffee place downstairs", "the airline", "my internet provider"],
    "treat": ["the concert", "my sister's wedding", "the beach trip", "brunch with the crew",
              "the new album", "game night", "the farmers market", "my first marathon",
              "the puppy we adopted", "grandma's birthday dinner", "the road trip"],
    "goal": ["finishing my degree", "the job interview", "opening my own bakery", "moving abroad",
             "learning to code", "running a half marathon", "the new project", "getting healthier",
             "saving for a house", "the exam next week"],
    "loss": ["my old dog", "the job", "my grandpa", "the house we grew up in", "our team",
             "my best friend moving away", "the season", "my phone with all the photos"],
    "event": ["the town hall meeting", "the library book sale", "the road closure on Main St",
              "the quarterly report", "the vaccination clinic", "the new bus timetable",
              "the recycling pickup", "the software release", "the election results broadcast"],
    "time": ["Monday", "Tuesday at 6pm", "this weekend", "tomorrow morning", "next Friday",
             "March 3", "tonight", "9am sharp"],
    "place": ["downtown", "the community center", "Room 204", "the north entrance",
              "the main library", "Pier 39", "the old station"],
    "handle": ["@someone", "@jess_k", "@metro_transit", "@thebakeryco", "@dan_the_man",
               "@cityhall", "@maria.l", "@support"],
    "url": ["https://example.com/news/123", "http://bit.ly/3xYzAbc", "https://t.co/AbC123xyz",
            "www.example.org/schedule", "https://example.net/report?id=42"],
    "email": ["jane.doe@example.com", "info@localgroup.org", "help@example.net"],
    "phone": ["(555) 014-2298", "555-0199", "+1 555 013 7777", "020 7946 0018"],
}

EMOJI = {
    "anger": ["😡", "🤬", "😤", "👎"],
    "joy": ["😂", "😍", "🥳", "❤️", "🎉", "😊"],
    "optimism": ["🙏", "💪", "✨", "🌱", "🤞"],
    "sadness": ["😢", "😭", "💔", "😞"],
    None: ["📅", "📍", "ℹ️", ""],
}
EMOTICONS = {"anger": [">:(", ":-/"], "joy": [":D", ":)", "xD"], "optimism": [":)", ";)"],
             "sadness": [":(", ":'("], None: [""]}
HASHTAGS = {
    "anger": ["#fail", "#unacceptable", "#fedup", "#worstservice"],
    "joy": ["#blessed", "#bestdayever", "#happy", "#goodvibes"],
    "optimism": ["#motivation", "#onwards", "#newbeginnings", "#keepgoing"],
    "sadness": ["#heartbroken", "#missyou", "#rip", "#sad"],
    None: ["#news", "#community", "#update", "#info"],
}

# --- templates: (text, sentiment, emotion) -------------------------------------------------
# emotion is one of anger / joy / optimism / sadness, or None when none fits (neutral posts).


@dataclass(frozen=True)
class Tone:
    sentiment: str
    emotion: str | None
    templates: tuple[str, ...]


ANGRY = Tone("negative", "anger", (
    "{thing} broke AGAIN and nobody is answering. I am so done with this",
    "Three hours on hold with {thing}. THREE HOURS. Unbelievable",
    "Who decided {thing} should cost twice as much for half the service?? Furious",
    "{handle} your driver just threw my package over the fence. Absolutely ridiculous",
    "I can't believe {thing} cancelled on me the morning of. Never again",
    "Stop raising prices on {thing} and pretending it's an upgrade. Disgraceful",
    "Whoever parked across my driveway {time}: I hope you step on a lego",
    "{thing} deleted my account without warning. I'm livid",
    "Honestly sick of {thing} treating customers like garbage",
    "If {thing} sends me one more spam text I will scream",
    "They closed {place} with zero notice and we all showed up for nothing. Outrageous",
    "Paid for express shipping and it's still 'processing'. What a joke, {handle}",
))

JOYFUL = Tone("positive", "joy", (
    "{treat} was the best thing that happened all year!!",
    "Cannot stop smiling after {treat} with everyone",
    "Just got back from {treat} and my heart is full",
    "{handle} thank you for making {treat} so special, I'm still laughing",
    "Best. Day. Ever. {treat} was perfect",
    "Woke up to the news about {treat} and I'm so happy",
    "Dancing in the kitchen because {treat} finally happened",
    "The sunset at {place} tonight was gorgeous, what a lovely evening",
    "Got the tickets for {treat}!!! Screaming",
    "My little nephew said his first word today and it was my name. Melting",
    "{treat} exceeded every expectation, I love these people",
    "Free cake at work for no reason. Life is good",
))

OPTIMISTIC = Tone("positive", "optimism", (
    "Starting {goal} {time}. Nervous but I know it's going to work out",
    "One step at a time. {goal} is going to happen this year",
    "Tough week but tomorrow is a fresh start",
    "Every setback is a setup for a comeback. Back at {goal} {time}",
    "I believe things get better from here, {goal} is finally moving",
    "Not there yet, but closer than yesterday. Keep going",
    "Signed up for {goal}. Future me will thank me",
    "Whatever happens with {goal}, I'm proud I tried",
    "Small progress is still progress. Day 12 of {goal}",
    "Good things are coming, I can feel it. {goal} here we come",
    "Rejected again, but I'm learning a lot. Next one is mine",
))

SAD = Tone("negative", "sadness", (
    "Still can't believe {loss} is gone. The house is so quiet",
    "Miss {loss} more than I can say tonight",
    "Some days are just heavy. Today was one of them",
    "Looked through old photos and cried for an hour. Missing {loss}",
    "It's been a year since we lost {loss} and it still hurts",
    "Feeling really alone lately, nobody seems to notice",
    "Didn't get the job. Trying not to fall apart",
    "Cleaning out the room where {loss} used to be. Hardest thing I've done",
    "Rainy day, empty apartment, cold tea. Kind of how I feel",
    "Saying goodbye to {loss} today. Heartbroken",
    "I keep reaching for my phone to text {loss} and then I remember",
))

NEUTRAL = Tone("neutral", None, (
    "{event} is scheduled for {time} at {place}",
    "Reminder: {event} moves to {place} starting {time}",
    "Updated details on {event}: {url}",
    "{handle} what time does {event} start?",
    "Questions about {event}? Email {email} or call {phone}",
    "The minutes from {event} are posted here {url}",
    "FYI {event} will be streamed live {time}",
    "Parking for {event} is available at {place}",
    "Does anyone know if {event} needs registration?",
    "Here is the agenda for {event} {time}: {url}",
    "For bookings contact {email}, office hours 9-5",
    "Call {phone} to report issues with {event}",
))

SARCASTIC = Tone("negative", "anger", (
    "Oh great, {thing} is down again. What a surprise. Truly shocked",
    "Love how {thing} charges extra for the privilege of waiting. Amazing service",
    "Nothing says Monday like {thing} failing right before the deadline. Perfect",
    "Wow, {thing} replied after only six weeks. Lightning fast",
    "So glad I paid for premium so {thing} can ignore me faster",
    "Yeah because standing in the rain for {thing} is exactly how I wanted to spend {time}",
    "Fantastic, another 'small update' from {thing} that breaks everything. Thanks so much",
    "Oh sure, {handle}, 'your call is important to us'. Clearly",
))

TONES = {"angry": ANGRY, "joyful": JOYFUL, "optimistic": OPTIMISTIC, "sad": SAD,
         "neutral": NEUTRAL, "sarcastic": SARCASTIC}

# Posts in the style of African-American English (AAE) and of other dialects, with the same
# tones, so that a dialect audit has groups to compare. Written as style sketches (spellings and
# function words), not as quotes.
AAE = {
    "angry": ("ion even know why {thing} be acting like this, i'm finna cancel",
              "bruh {thing} got me hot rn, they stay messing up my order",
              "nah they was tryna charge me twice, {thing} tripping fr",
              "why {thing} always gotta do us like this smh"),
    "joyful": ("yall {treat} was lit, we was dancing all night",
               "i'm weak 😂 {treat} had me crying laughing",
               "sis came thru for {treat} and it was everything",
               "lowkey the best night ever, {treat} hit different"),
    "optimistic": ("we gon be alright, {goal} finna pay off",
                   "ion care how long it take, {goal} gon happen",
                   "keep pushing fam, {goal} coming soon fr"),
    "sad": ("ion feel like talking today, miss {loss} so bad",
            "it ain't the same without {loss} fr",
            "been sad all week, {loss} gone and ion know what to do"),
    "neutral": ("yall know what time {event} start?",
                "{event} be at {place} {time} if yall going"),
    "sarcastic": ("oh {thing} working today? must be a holiday smh",
                  "love when {thing} take my money and don't do nothin, real nice"),
}
OTHER_DIALECTS = {
    "angry": ("Absolutely gutted, {thing} has cocked it up again, proper rubbish",
              "Wahala dey o, {thing} don spoil again and nobody dey answer"),
    "joyful": ("Had a wee brilliant time at {treat}, pure magic so it was",
               "Chai! {treat} sweet well well, I dey happy die"),
    "optimistic": ("Sure look, it'll be grand, {goal} is coming along nicely",
                   "No wahala, {goal} go better soon"),
    "sad": ("Feeling awful gutted about {loss}, cannae stop greeting",),
    "neutral": ("Kindly do the needful and share the timings of {event}",),
}

REGIONS = ["north_america", "europe", "africa", "south_asia", "oceania"]
PLATFORMS = ["twitter", "reddit", "forum"]
AGE_BANDS = ["18-24", "25-34", "35-49", "50+"]


# --- composition ---------------------------------------------------------------------------


def _fill(template: str, rng: random.Random) -> str:
    return template.format(**{k: rng.choice(v) for k, v in SLOTS.items() if "{" + k + "}" in template})


# words people stretch for emphasis (``so`` -> ``sooooo``)
ELONGATABLE = {"so": "o", "love": "e", "good": "o", "best": "e", "happy": "y", "please": "e",
               "done": "e", "sad": "a", "miss": "s", "why": "y", "never": "e", "really": "y",
               "fr": "r", "rn": "n", "no": "o", "yes": "s", "great": "a", "bruh": "h", "wow": "o",
               "tired": "e", "hurts": "s", "cute": "e", "finally": "y", "omg": "g"}


def _elongate(text: str, rng: random.Random) -> str:
    """Stretch one letter of one emphatic word, if the post has one."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.lower().strip(".,!?") in ELONGATABLE]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word = words[i]
    letter = ELONGATABLE[word.lower().strip(".,!?")]
    j = word.lower().rindex(letter)
    words[i] = word[: j + 1] + word[j] * rng.randint(2, 5) + word[j + 1 :]
    return " ".join(words)


def _decorate(text: str, emotion: str | None, rng: random.Random) -> str:
    """Add the noise of social media posts: emoji, emoticons, hashtags, caps, elongation."""
    if rng.random() < 0.5:
        text = _elongate(text, rng)
    if emotion in ("anger", "joy") and rng.random() < 0.15:
        text = text.upper()
    if rng.random() < 0.45:
        text += " " + rng.choice(EMOJI[emotion]) * rng.randint(1, 3)
    elif rng.random() < 0.3:
        text += " " + rng.choice(EMOTICONS[emotion])
    if rng.random() < 0.4:
        text += " " + " ".join(rng.sample(HASHTAGS[emotion], rng.randint(1, 2)))
    if rng.random() < 0.1:
        text = rng.choice(SLOTS["handle"]) + " " + text
    if rng.random() < 0.08:
        text += " " + rng.choice(SLOTS["url"])
    return " ".join(text.split())


def _posts(rng: random.Random) -> list[dict]:
    per_tone = {"angry": 60, "joyful": 65, "optimistic": 57, "sad": 60, "neutral": 68, "sarcastic": 41}
    posts = []
    for name, count in per_tone.items():
        tone = TONES[name]
        for _ in range(count):
            text = _decorate(_fill(rng.choice(tone.templates), rng), tone.emotion, rng)
            posts.append({"text": text, "sentiment": tone.sentiment, "emotion": tone.emotion, "style": "standard"})
    for styles, name in ((AAE, "aae"), (OTHER_DIALECTS, "other_dialect")):
        for tone_name, templates in styles.items():
            tone = TONES[tone_name]
            for template in templates * (2 if name == "aae" else 1):
                text = _decorate(_fill(template, rng), tone.emotion, rng)
                posts.append({"text": text, "sentiment": tone.sentiment, "emotion": tone.emotion, "style": name})
    # rows that cannot be scored, to show per-row statuses
    for text in ("", "   ", "\t \n"):
        posts.append({"text": text, "sentiment": None, "emotion": None, "style": "special"})
    rant = " ".join(_fill(t, rng) + "." for t in ANGRY.templates) * 6
    posts.append({"text": rant, "sentiment": "negative", "emotion": "anger", "style": "special"})
    long_joy = " ".join(_fill(t, rng) + "!" for t in JOYFUL.templates) * 5
    posts.append({"text": long_joy, "sentiment": "positive", "emotion": "joy", "style": "special"})
    return posts


def make_sample(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The sample export as a DataFrame (deterministic for a given seed)."""
    rng = random.Random(seed)
    posts = _posts(rng)
    rng.shuffle(posts)
    rows = []
    for number, post in enumerate(posts, start=1):
        # dialect-styled posts lean towards twitter, as such posts do in practice
        platform = "twitter" if post["style"] == "aae" and rng.random() < 0.6 else rng.choice(PLATFORMS)
        rows.append({
            "id": f"p{number:04d}",
            "text": post["text"],
            "platform": platform,
            "region": rng.choice(REGIONS),
            "age_band": rng.choices(AGE_BANDS, weights=[4, 4, 3, 2])[0],
            "sentiment": post["sentiment"] or "",
            "emotion": post["emotion"] or "",
        })
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    sample = make_sample(args.seed)
    with ExportWriter(args.out) as writer:
        writer.write(sample)
    print(f"wrote {len(sample)} posts to {args.out}")


if __name__ == "__main__":
    main()
