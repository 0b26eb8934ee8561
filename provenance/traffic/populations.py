"""The simulator's populations added for issue 29, drawn after every earlier one (a seed's earlier accounts and
exchanges are unchanged).

* a *residential swarm*: many accounts on a few residential /24 prefixes with browser user
  agents and separate payers, summarising distinct passages through one script;
* **benign users on the same ranges**: ordinary users on the swarm's prefixes with the
  swarm's browsers, and on some of the slow operator's; their only tie to a campaign is
  shared infrastructure, and none of them may be named;
* *careful sweeps*: three accounts per operator, each on its own residential prefix,
  browser and payer, each with its own wording, working through disjoint items of one
  generated task-by-topic space, single-shot, paced far under any rate limit, all starting
  and stopping on the same days (no task asks for reasoning or code);
* a *jittered lock-step* dispatcher: accounts with nothing in common fired together, each
  after its own random delay of up to ``JITTER`` seconds;
* a *translation harvest*: scripted accounts on a proxy prefix translating distinct everyday
  texts into several languages (extraction of something other than reasoning or code);
* and a hard negative, a *translation app*: one organisation's backend translating its
  users' messages round the clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from provenance.traffic import simkit as sim

#: The jittered dispatcher's largest per-account delay, in seconds.
JITTER = 45.0

_TOPICS = [
    "photosynthesis", "plate tectonics", "the water cycle", "the French Revolution", "supply and demand", "the immune system",
    "black holes", "the Renaissance", "compound interest", "climate feedback loops", "the printing press", "DNA replication",
    "the Silk Road", "volcanic eruptions", "the Cold War", "the nitrogen cycle", "game theory", "the Roman Republic",
    "ocean currents", "the Industrial Revolution", "vaccination", "the greenhouse effect", "the stock market", "glaciers",
    "the Ottoman Empire", "electric circuits", "coral reefs", "the Magna Carta", "inflation", "the human heart",
    "migration of birds", "the Meiji Restoration", "wind energy", "the Big Bang", "the Byzantine Empire", "soil erosion",
    "antibiotic resistance", "the Apollo programme", "tides", "the Mughal Empire", "rainforests", "the periodic table",
    "the Hanseatic League", "earthquakes", "central banks", "the nervous system", "the Aztec Empire", "solar panels",
    "the Reformation", "deserts", "the metric system", "the Great Depression", "mitochondria", "monsoons", "the Vikings",
    "nuclear fission", "the Enlightenment", "wetlands", "the Incan roads", "public health", "the Suez Canal", "comets",
    "the Han dynasty", "batteries", "the Black Death", "tundra", "the Treaty of Westphalia", "rivers and deltas",
    "the Phoenicians", "sound waves", "the Meiji constitution", "bees and pollination", "the telegraph", "the ozone layer",
    "the Mali Empire", "hydroelectric dams", "the Congress of Vienna", "the moon's phases", "the spice trade", "fungi",
    "the Hubble telescope", "the Khmer Empire", "recycling", "the Gold Rush", "sleep", "the Marshall Plan", "lightning",
    "the Olmec", "urban planning", "the Berlin Wall", "the carbon cycle", "the Dead Sea Scrolls", "magnetism",
    "the Crusades", "savannas", "the Bronze Age collapse", "tsunamis", "the Library of Alexandria", "vitamins",
    "the Iron Curtain", "star formation", "the Zulu kingdom", "fossils", "the transcontinental railroad", "the tongue",
    "the Carolingians", "auroras", "the Sumerians", "kelp forests", "the steam engine", "bacteria", "the Medici",
]  # fmt: skip
#: Each task of a careful sweep in three wordings: an operator gives each of its accounts its own.
_TASKS = [
    ["Explain {t} to a complete beginner in plain words.", "I am new to {t}; could you walk me through the basics?",
     "Give me a simple, friendly introduction to {t}."],
    ["Write five quiz questions with answers about {t}.", "Make a short quiz (five questions, answers included) on {t}.",
     "Could you draft five test questions about {t}, each with its answer?"],
    ["Summarise the history of {t} in one paragraph.", "In a single paragraph, how did our understanding of {t} develop?",
     "Tell the story of {t} briefly, one paragraph."],
    ["List the common misconceptions about {t} and correct each one.", "What do people usually get wrong about {t}?",
     "Name the typical mistakes people make about {t}, with the correction."],
    ["Give a real-world example that illustrates {t}.", "Describe one everyday situation where {t} shows up.",
     "What is a concrete case of {t} in daily life?"],
    ["Translate a one-sentence definition of {t} into Spanish, French and German.",
     "Define {t} in one sentence, then give that sentence in Spanish, French and German.",
     "One-line definition of {t}, plus its Spanish, French and German versions please."],
    ["Outline a 45-minute lesson plan on {t} for teenagers.", "How would you teach {t} to a class of 15-year-olds in 45 minutes?",
     "Plan a lesson of about 45 minutes on {t} for secondary school."],
    ["Write a glossary of the key terms of {t}.", "Which key terms should I know for {t}? Define each briefly.",
     "Give me the vocabulary of {t}, a short definition for each word."],
]  # fmt: skip
_LANGUAGES = ["French", "German", "Spanish", "Italian", "Portuguese", "Japanese", "Polish", "Dutch"]
_SUBJECTS = ["my neighbour", "the new manager", "our landlord", "the school", "my cousin", "the bakery", "the airline",
             "the football club", "the museum", "our team", "the clinic", "the library"]  # fmt: skip
_EVENTS = ["cancelled the meeting", "changed the opening hours", "sent the invoice twice", "moved the party to Sunday",
           "lost the parcel", "raised the prices", "announced a new schedule", "forgot the reservation",
           "offered a discount", "asked for feedback", "closed for repairs", "started a newsletter"]  # fmt: skip
_REASONS = ["because of the storm", "after the holidays", "without telling anyone", "for the third time this year",
            "to save money", "at the last minute", "due to a staff shortage", "as a thank-you"]  # fmt: skip


def _passage(rng: random.Random, sentences: int) -> str:
    """Everyday text of a few sentences (what a summariser or translator is given), almost never twice the same."""
    return " ".join(f"{rng.choice(_SUBJECTS).capitalize()} {rng.choice(_EVENTS)} {rng.choice(_REASONS)}"
                    f" on day {rng.randint(1, 28)}." for _ in range(sentences))  # fmt: skip


#: A careful account's own turn of phrase around each task: stop words only (the content-plan link reads rare
#: words, and these are no item of the plan), 14 x 10 combinations per account.
_LEADS = ["Please", "Could you please", "Would you", "Can you", "Now,", "Next,", "Again,", "Once more,", "If you can,",
          "Now please", "Next please", "Would you please", "Can you please", "Here is one more:"]  # fmt: skip
_CLOSES = ["", "please.", "if you can.", "for me.", "as well.", "once more.", "here.", "now.", "if you would.", "please, for me."]
#: A translation harvest's instruction, the operator's own: 8 x 8 verbs and objects, two of 10 register phrases.
_TRANSLATE_VERBS = ["Translate", "Render", "Convert", "Put", "Rewrite", "Carry over", "Turn", "Transfer"]
_TRANSLATE_OBJECTS = ["the following text", "this passage", "the text below", "these sentences", "this note", "the message below",
                      "this paragraph", "the snippet"]  # fmt: skip
_TRANSLATE_KEEP = ["keeping its tone and register", "preserving the tone", "keeping names unchanged", "in a natural style",
                   "word for word where possible", "keeping the formality level", "as a native speaker would",
                   "without adding anything", "keeping punctuation", "in a neutral register"]  # fmt: skip


def _careful_wording(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_LEADS), rng.choice(_CLOSES)


def _translation_wording(rng: random.Random) -> tuple[str, str]:
    """(before the language, after it): a verb and object, then two of the register phrases."""
    first, second = rng.sample(_TRANSLATE_KEEP, 2)
    job = f"[{sim.made_up_name(rng)} localisation]"  # the script's job name
    return f"{job} {rng.choice(_TRANSLATE_VERBS)} {rng.choice(_TRANSLATE_OBJECTS)} into", f"{first} and {second}"


def careful_populations(log: sim._Log, rng: random.Random, n: Callable[[float], int], slow: list[sim._Account]) -> None:
    """Every issue-29 population, in a fixed order (the order is part of a seed's log)."""
    swarm = _residential_swarm(log, rng, n)
    _infrastructure_neighbours(log, rng, n, swarm, slow)
    for operator in range(n(2)):
        _careful_sweep(log, rng, f"careful sweep {operator + 1}")
    for operator in range(n(1)):
        _jittered_lockstep(log, rng, f"jittered lock-step {operator + 1}", max(2, min(6, n(6))))
    for operator in range(n(1)):
        _translation_harvest(log, rng, f"translation harvest {operator + 1}", max(2, min(8, n(8))))
    _translation_app(log, rng)


def _residential_swarm(log: sim._Log, rng: random.Random, n: Callable[[float], int]) -> list[sim._Account]:
    """Accounts on four residential prefixes, browsers, separate payers: one script summarising passages."""
    prefixes = [log.addresses.residential(sim._prefix(rng)) for _ in range(4)]
    tag = f"[doc-{rng.randint(1000, 9999)}]"
    accounts = []
    start = sim.START + timedelta(days=rng.uniform(1, 8))
    for _ in range(n(30)):
        account = log.account("campaign: residential swarm", rng.choice(prefixes), rng.choice(sim._BROWSERS), operator="residential swarm")
        accounts.append(account)
        when = start + timedelta(seconds=rng.uniform(0, 7200))
        for _ in range(rng.randint(50, 90)):
            text = _passage(rng, 2)
            log.add(account, when, [{"role": "user", "content": f"{tag} Summarise the following passage in three bullet points "
                                                                 f"for a busy reader: {text}"}])  # fmt: skip
            when += timedelta(seconds=max(5.0, rng.gauss(240, 80)))
    return accounts


def _infrastructure_neighbours(log: sim._Log, rng: random.Random, n: Callable[[float], int], swarm: list[sim._Account],
                               slow: list[sim._Account]) -> None:  # fmt: skip
    """Ordinary users behind the same /24 prefixes and browser user agents as campaign accounts (carrier NAT,
    one building's network): three per swarm prefix and one per slow-operator account, up to ``n(17)``."""
    hosts = [(a.prefix, a.agent) for a in swarm]
    places = sorted({p for p, _ in hosts})
    chosen = [next((p, g) for p, g in hosts if p == place) for place in places for _ in range(3)]
    chosen += [(a.prefix, a.agent) for a in slow[:5]]
    for prefix, agent in chosen[: n(17)]:
        sim.ordinary_user(log, rng, log.account("benign: shares infrastructure", prefix, agent))


def _careful_sweep(log: sim._Log, rng: random.Random, operator: str) -> None:
    """Three accounts dealt disjoint items of one task-by-topic space, each with its own wording, one schedule."""
    topics = rng.sample(_TOPICS, 40)
    # issue 29: the operator's own space: each topic set in a place of its own generated world (a benchmark's domain,
    # a client's catalogue), so that at scale two operators' spaces are not the same 112 topics
    topics = [f"{topic} in {sim.made_up_name(log.extra)}" for topic in topics]
    items = [(task, topic) for task in range(len(_TASKS)) for topic in topics]
    rng.shuffle(items)
    wordings = rng.sample(range(3), 3)
    accounts = [log.account("campaign: careful sweep", log.addresses.residential(sim._prefix(rng)), rng.choice(sim._BROWSERS),
                            operator=operator) for _ in range(3)]  # fmt: skip
    first_day, days = rng.randrange(0, 8), 5
    hour = log.extra.uniform(6, 11)  # the operator's own working day (issue 29)
    for k, account in enumerate(accounts):
        mine = items[k::3]
        per_day = -(-len(mine) // days)
        gap = rng.uniform(480, 720)  # the script's pace for this account: one request every 8-12 minutes
        lead, close = _careful_wording(log.extra)  # each account's own turn of phrase around the task (issue 29)
        for day in range(days):
            when = sim.START + timedelta(days=first_day + day, hours=hour, seconds=rng.uniform(0, 1800))
            for task, topic in mine[day * per_day : (day + 1) * per_day]:
                text = " ".join(f"{lead} {_TASKS[task][wordings[k]].format(t=topic)} {close}".split())
                log.add(account, when, [{"role": "user", "content": text}])
                when += timedelta(seconds=max(60.0, rng.gauss(gap, gap * 0.08)))


def _jittered_lockstep(log: sim._Log, rng: random.Random, operator: str, accounts: int) -> None:
    """One dispatcher firing six unrelated-looking accounts together, each after its own random delay."""
    accounts = [log.account("campaign: jittered lock-step", log.addresses.residential(sim._prefix(rng)), rng.choice(sim._BROWSERS),
                            operator=operator) for _ in range(accounts)]  # fmt: skip
    sweeps = [sim._operator_sweep(rng, wording=log.extra) for _ in accounts]
    when, pace = sim.START + timedelta(days=rng.uniform(0, 10)), log.extra.uniform(0.6, 1.4)  # the dispatcher's own pace
    for _ in range(250):
        when += timedelta(seconds=rng.uniform(60, 900) * pace)
        for account, sweep in zip(accounts, sweeps):
            log.add(account, when + timedelta(seconds=rng.uniform(0, JITTER)), [{"role": "user", "content": sim._fill(rng.choice(sweep), rng)}])


def _translation_harvest(log: sim._Log, rng: random.Random, operator: str, accounts: int) -> None:
    """Scripted accounts on two proxy prefixes, separate payers, translating distinct texts (no reasoning, no code)."""
    prefixes = [log.addresses.datacentre(sim._prefix(rng)) for _ in range(2)]
    agent = rng.choice(sim._SCRIPTED_AGENTS)
    start = sim.START + timedelta(days=rng.uniform(0, 10))
    ask, keep = _translation_wording(log.extra)  # the operator's own instruction (issue 29)
    gap = 40 * log.extra.uniform(0.6, 1.6)
    for _ in range(accounts):
        account = log.account("campaign: translation harvest", rng.choice(prefixes), agent, operator=operator)
        when = start + timedelta(seconds=rng.uniform(0, 3600))
        for _ in range(rng.randint(60, 110)):
            text = _passage(rng, rng.randint(1, 2))
            log.add(account, when, [{"role": "user", "content": f"{ask} {rng.choice(_LANGUAGES)}, {keep}: {text}"}])
            when += timedelta(seconds=max(1.0, rng.gauss(gap, gap / 20)))


def _translation_app(log: sim._Log, rng: random.Random) -> None:
    """A customer's app translating its users' messages: one account, one organisation, users' own rhythm."""
    account = log.account("hard negative: translation app", log.addresses.datacentre(sim._prefix(rng)), "python-httpx/0.27",
                          organisation="chatbridge")  # fmt: skip
    for day in range(sim.DAYS):
        for _ in range(rng.randint(20, 40)):
            when = sim._working_hours(rng, day, rng.choice([0, 8, -5]))
            text = _passage(rng, 1)
            log.add(account, when, [{"role": "user", "content": f"Please translate this chat message to {rng.choice(_LANGUAGES)}. "
                                                                 f"Message: {text}"}])  # fmt: skip
