"""WebShop's profile: the official bank's product categories and a head-noun detector.

The official template mode (``SkillsOnlyMemory._detect_task_type`` of aiming-lab/SkillRL) tests lowercase
substrings, so "string" and "spring" go to ``accessories`` (``'ring' in goal``) and "dress shoes" to
``apparel``. :class:`WebShopDetector` matches whole words and lets the *head noun* of the product phrase decide;
:func:`official_webshop_category` keeps the official cascade as the baseline of ``benchmarks/bench_detection.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from skillrl.hookspecs import hookimpl
from skillrl.profiles.base import CategoryDetector, keyword_pattern

__all__ = [
    "WEBSHOP_CATEGORIES",
    "WebShopDetector",
    "official_webshop_category",
    "skillrl_register_profiles",
]

#: The product categories of the official WebShop bank (``task_specific_skills`` keys of
#: ``memory_data/webshop/claude_style_skills.json``); ``"other"`` is the catch-all.
WEBSHOP_CATEGORIES: tuple[str, ...] = (
    "apparel",
    "footwear",
    "home_decor",
    "electronics",
    "accessories",
    "beauty_health",
    "other",
)

_OFFICIAL_WEBSHOP: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("apparel", ("shirt", "dress", "jacket", "pant", "coat", "sweater", "blouse", "clothing", "clothes", "t-shirt")),
    ("footwear", ("shoe", "boot", "sneaker", "sandal", "heel", "slipper", "footwear")),
    ("electronics", ("laptop", "phone", "computer", "tablet", "charger", "cable", "headphone", "speaker",
                     "camera", "electronic")),
    ("accessories", ("necklace", "ring", "bracelet", "earring", "watch", "jewelry", "bag", "purse", "wallet")),
    ("home_decor", ("furniture", "lamp", "curtain", "pillow", "bedding", "decor", "candle", "vase", "rug")),
    ("beauty_health", ("cream", "lotion", "shampoo", "conditioner", "moisturizer", "serum", "makeup", "beauty",
                       "vitamin", "supplement")),
)


def official_webshop_category(goal: str) -> str:
    """The official SkillRL template-mode WebShop cascade, reproduced exactly (bugs included).

    Source: the WebShop branch of ``SkillsOnlyMemory._detect_task_type`` (aiming-lab/SkillRL): lowercase
    substring tests, first category with a hit wins, in the order apparel, footwear, electronics,
    accessories, home_decor, beauty_health; otherwise ``other``. Substring tests are why ``"string"``
    goes to ``accessories`` (``'ring'``) and ``"dress shoes"`` to ``apparel`` (``'dress'``).
    """
    g = goal.lower()
    for category, words in _OFFICIAL_WEBSHOP:
        if any(w in g for w in words):
            return category
    return "other"


# Product nouns per category (regex fragments; each is matched as a whole word with an optional plural).
_WEBSHOP_VOCAB: dict[str, tuple[str, ...]] = {
    "apparel": (
        "apparel", "clothing", "clothes", "garment", "outfit", "shirt", "t-shirt", "t shirt", "tee", "tank",
        "tank top", "top", "blouse", "henley", "polo", "tunic", "camisole", "sweater", "sweatshirt", "hoodie",
        "pullover", "cardigan", "jacket", "coat", "parka", "vest", "blazer", "suit", "suiting", "tuxedo",
        "dress", "gown", "skirt", "pant", "pants", "trousers", "jeans", "leggings", "legging", "shorts",
        "joggers", "sweatpant", "overalls", "jumpsuit", "romper", "bodysuit", "activewear", "sportswear",
        "sleepwear", "loungewear", "sleep & lounge", "sleep and lounge", "pajama", "pyjama", "nightgown",
        "robe", "lingerie", "bra", "underwear", "panty", "panties", "boxer", "briefs", "socks", "sock",
        "stockings", "tights", "swimsuit", "swimwear", "bikini", "cover up", "cover-up", "trunks",
        "uniform", "costume", "scrubs", "kimono", "onesie", "outerwear",
    ),
    "footwear": (
        "footwear", "shoe", "sneaker", "trainers", "boot", "bootie", "sandal", "slipper", "loafer",
        "slip-on", "slip on", "oxford", "pumps", "heels", "flats", "ballet flat", "moccasin", "clog",
        "mules", "flip flop", "flip-flop", "espadrille", "wedges", "cleats", "insole",
    ),
    "home_decor": (
        "home decor", "decor", "decoration", "ornament", "furniture", "furniture set", "living room set",
        "pillow", "pillowcase", "pillow cover", "cushion", "throw", "blanket", "quilt", "comforter", "duvet",
        "bedding", "bedspread", "sheet set", "bed sheet", "curtain", "drape", "window covering",
        "window treatment", "blinds", "valance", "rug", "carpet", "doormat", "bath mat", "floor mat",
        "tablecloth", "table runner", "placemat", "towel", "lamp", "chandelier", "sconce", "lantern",
        "fairy lights", "string lights", "night light",
        "candle", "candle holder", "vase", "wall art", "art print", "painting", "poster", "picture frame",
        "mirror", "wall clock", "wreath", "figurine", "sculpture", "sofa", "couch", "loveseat", "chair",
        "recliner", "stool", "ottoman", "bench", "table", "desk", "nightstand", "dresser", "cabinet",
        "shelf", "shelves", "bookcase", "bookshelf", "armoire", "wardrobe", "headboard", "bed", "bed frame", "box spring",
        "mattress", "futon", "hammock", "shower curtain", "coat rack", "shoe rack", "rack", "storage bench",
    ),
    "electronics": (
        "electronic", "electronics", "laptop", "computer", "pc", "desktop", "notebook computer", "tablet",
        "ipad", "kindle", "e-reader", "phone", "cell phone", "smartphone", "iphone", "charger", "charging",
        "cable", "hdmi", "usb", "adapter", "power bank", "headphone", "headset", "earphone", "earbud",
        "airpods", "speaker", "soundbar", "subwoofer", "amplifier", "receiver", "microphone", "mic",
        "camera", "webcam", "dash cam", "lens", "tripod", "ring light", "monitor", "tv", "television",
        "projector", "router", "modem", "signal booster", "antenna", "keyboard", "mouse", "printer",
        "scanner", "hard drive", "ssd", "flash drive", "memory card", "sd card", "smartwatch",
        "smart watch", "fitness tracker", "remote control", "game controller", "controller", "console",
        "drone", "radio", "walkie talkie", "mp3 player", "cd player", "dvd player", "blu-ray player", "audio",
        "stereo", "recorder", "gps",
        "binoculars", "telescope", "screen protector", "stylus", "tv mount", "mount", "battery",
    ),
    "accessories": (
        "jewelry", "jewellery", "necklace", "pendant", "bracelet", "bangle", "anklet", "earring",
        "ring", "brooch", "cufflink", "watch", "wristwatch", "watch band", "wallet", "purse", "handbag",
        "tote", "clutch", "crossbody", "bag", "backpack", "belt", "hat", "cap", "beanie", "scarf", "scarves",
        "glove", "mitten", "sunglasses", "eyeglasses", "reading glasses", "necktie", "bow tie", "tie",
        "keychain", "umbrella", "suspenders", "bandana", "headband",
    ),
    "beauty_health": (
        "beauty", "cosmetic", "makeup", "make up", "lipstick", "lip gloss", "lip balm", "mascara",
        "eyeliner", "eyeshadow", "eye shadow", "foundation", "concealer", "bronzer", "primer",
        "nail polish", "nail", "manicure", "skincare", "skin care", "serum", "moisturizer", "lotion",
        "cream", "cleanser", "toner", "sunscreen", "face mask", "shampoo", "conditioner", "hair",
        "hair care", "hair extension", "wig", "perfume", "cologne", "fragrance", "deodorant", "soap",
        "body wash", "shower gel", "bath bomb", "bath salt", "toothpaste", "toothbrush", "oral care",
        "floss", "mouthwash", "razor", "shaver", "vitamin", "supplement", "essential oil", "massage",
        "brush", "comb", "personal care", "body care", "bath", "bathing", "health", "first aid",
    ),
    "other": (
        "food", "snack", "granola", "nutrition bar", "protein bar", "bar", "chocolate", "candy", "cookie",
        "cracker", "chips", "jerky", "coffee", "tea", "juice", "drink", "beverage", "sauce", "seasoning",
        "spice", "nuts", "gourmet", "grocery", "toy", "puzzle", "book", "pet", "dog", "cat food", "tool",
    ),
}

# Request phrases to drop before looking for the product noun ("i am looking for ...": "for" would cut).
_WS_REQUEST = re.compile(
    r"^(?:(?:please|hi|hello|hey)[,!]?\s+)?(?:(?:can|could|would|will) you\s+)?(?:please\s+)?(?:help me\s+)?"
    r"(?:find me|find|get me|get|buy me|buy|show me|search for|look for|i'?m (?:looking|searching|shopping) for"
    r"|i am (?:looking|searching|shopping) for|i (?:need|want|would like|'d like)(?: to (?:buy|get|find|purchase|order))?"
    r"|looking for|searching for|shopping for)\b\s*"
)
# Option clauses of synthetic WebShop goals ("with color: x, and size: y") and the price limit.
_WS_OPTIONS = re.compile(r"(?:,?\s*(?:with|and)\s+[a-z][a-z ]{0,24}:\s).*$")
_WS_PRICE = re.compile(r",?\s*(?:and\s+)?(?:with\s+)?(?:the\s+)?price\s+(?:lower|less|under|below|cheaper)\s+than.*$")
# The product noun phrase ends where its post-modifiers start.
_WS_HEAD_END = re.compile(
    r"\s(?:with|without|for|that|which|who|whose|to|in|under|below|from|made|suitable|compatible|priced)\s"
)


_CONTAINER = re.compile(r"(?:bag|case|pouch|holder|organizer|box|cover)(?:e?s)?", re.IGNORECASE)


class WebShopDetector(CategoryDetector):
    """WebShop product category from a shopping instruction, by the *head noun* of the product phrase.

    Steps: extract the goal; drop request phrases ("find me", "i am looking for"), option clauses
    ("with color: ..., and size: ...") and the price limit; take the product phrase (up to the first
    "with/for/that/in/..."); find every category noun in it (whole words, plural-tolerant, so "ring" never
    matches "string"); the noun that ends last wins (English noun phrases end with their head: "dress
    shoes" -> footwear, "shoe rack" -> home_decor), the longer one on ties ("ring light" ->
    electronics). A container noun takes the category of what it holds when the rest of the goal names
    it ("bags & cases for eye shadow" -> beauty_health). If the phrase names no product, the first noun
    in the rest of the goal decides; otherwise ``"other"``. Generic heads ("accessories", "products",
    "set") are not category nouns, so their modifier decides ("bathing accessories" -> beauty_health).

    Categories are the official WebShop bank's keys (:data:`WEBSHOP_CATEGORIES`); a bank without the
    detected key falls back to its ``"other"`` key if it has one.
    """

    def __init__(self, vocab: Mapping[str, Sequence[str]] | None = None, default: str = "other"):
        vocab = dict(_WEBSHOP_VOCAB if vocab is None else vocab)
        super().__init__("webshop", list(vocab) + [default], aliases={}, bank_fallback=default)
        self.default = default
        self._patterns: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
            (cat, re.compile(keyword_pattern(words), re.IGNORECASE)) for cat, words in vocab.items()
        )

    def product_phrase(self, text: str) -> tuple[str, str]:
        """``(product phrase, rest)`` of the cleaned goal of ``text``: what :meth:`detect` looks at."""
        return self._split(self.goal(text).lower())

    @staticmethod
    def _split(g: str) -> tuple[str, str]:
        g = _WS_REQUEST.sub("", g, count=1)
        g = _WS_PRICE.sub("", g)
        g = _WS_OPTIONS.sub("", g)
        m = _WS_HEAD_END.search(g)
        return (g[: m.start()], g[m.start():]) if m else (g, "")

    def _matches(self, text: str) -> list[tuple[int, int, str, str]]:
        """``[(end, length, category, matched text)]`` of every category noun in ``text``."""
        out = []
        for cat, regex in self._patterns:
            out.extend((m.end(), m.end() - m.start(), cat, m.group(0)) for m in regex.finditer(text))
        return out

    def _first(self, text: str) -> str | None:
        hits = self._matches(text)
        if not hits:
            return None
        start = min(h[0] - h[1] for h in hits)
        return max(h for h in hits if h[0] - h[1] == start)[2]  # earliest, then longest

    def _detect_goal(self, goal: str) -> str | None:
        head, rest = self._split(goal)
        hits = self._matches(head)
        if hits:
            _end, _, cat, word = max(hits)  # ends last, then longest, then (deterministic) category name
            # A container takes the category of what it holds: "cases for eye shadow" -> beauty_health.
            if _CONTAINER.fullmatch(word):
                return self._first(rest) or cat
            return cat
        return self._first(rest) or self.default



@hookimpl
def skillrl_register_profiles(register: Callable[..., None]) -> None:
    """The built-in ``"webshop"`` profile."""
    register("webshop", WebShopDetector, "WebShop product categories")
