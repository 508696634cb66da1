//! Word lists of the demo shop: people, places, companies, products, campaigns, ticket subjects.
//! International on purpose (ř, ł, ö, é, å …), and a few company and product names carry a comma
//! or a double quote, so every consumer of the CSVs meets RFC 4180 quoting.

use std::collections::HashSet;

use super::rng::Rng;

/// First and last names of one language.
pub(crate) struct Locale {
    pub male: &'static [&'static str],
    pub female: &'static [&'static str],
    /// Surnames of men (and of everyone where the language does not inflect them).
    pub surnames: &'static [&'static str],
    /// Surnames of women where the language inflects them (Czech, Polish); else empty.
    pub surnames_female: &'static [&'static str],
}

const GERMAN: Locale = Locale {
    male: &[
        "Lukas",
        "Jonas",
        "Felix",
        "Maximilian",
        "Leon",
        "Paul",
        "Jürgen",
        "Jörg",
        "Björn",
        "Günther",
        "Sören",
        "Matthias",
        "Tobias",
        "Florian",
        "Niklas",
        "Stefan",
    ],
    female: &[
        "Anna",
        "Lea",
        "Sophie",
        "Marie",
        "Hannah",
        "Johanna",
        "Katrin",
        "Jana",
        "Lena",
        "Jülide",
        "Miriam",
        "Sabine",
        "Ute",
        "Käthe",
        "Franziska",
        "Charlotte",
    ],
    surnames: &[
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Schäfer",
        "Koch",
        "Bauer",
        "Richter",
        "Klein",
        "Wolf",
        "Schröder",
        "Neumann",
        "Schwarz",
        "Zimmermann",
        "Braun",
        "Krüger",
        "Hartmann",
        "Lange",
        "Weiß",
        "Groß",
        "Köhler",
        "Jäger",
        "Böhm",
        "Vogel",
    ],
    surnames_female: &[],
};

const CZECH: Locale = Locale {
    male: &[
        "Jan",
        "Petr",
        "Jiří",
        "Tomáš",
        "Lukáš",
        "Martin",
        "Jakub",
        "Ondřej",
        "Vojtěch",
        "Matěj",
        "Adam",
        "Štěpán",
        "Michal",
        "David",
    ],
    female: &[
        "Eliška",
        "Tereza",
        "Lucie",
        "Kateřina",
        "Veronika",
        "Zuzana",
        "Barbora",
        "Anežka",
        "Markéta",
        "Jana",
        "Klára",
        "Adéla",
        "Šárka",
        "Petra",
    ],
    surnames: &[
        "Novák",
        "Svoboda",
        "Novotný",
        "Dvořák",
        "Černý",
        "Procházka",
        "Kučera",
        "Veselý",
        "Horák",
        "Němec",
        "Pokorný",
        "Marek",
        "Pospíšil",
        "Hájek",
        "Král",
        "Jelínek",
        "Růžička",
        "Beneš",
        "Fiala",
        "Sedláček",
        "Doležal",
        "Zeman",
        "Kolář",
        "Navrátil",
        "Čermák",
        "Škoda",
    ],
    surnames_female: &[
        "Nováková",
        "Svobodová",
        "Novotná",
        "Dvořáková",
        "Černá",
        "Procházková",
        "Kučerová",
        "Veselá",
        "Horáková",
        "Němcová",
        "Pokorná",
        "Marková",
        "Pospíšilová",
        "Hájková",
        "Králová",
        "Jelínková",
        "Růžičková",
        "Benešová",
        "Fialová",
        "Sedláčková",
        "Doležalová",
        "Zemanová",
        "Kolářová",
        "Navrátilová",
        "Čermáková",
        "Škodová",
    ],
};

const FRENCH: Locale = Locale {
    male: &[
        "Lucas",
        "Hugo",
        "Louis",
        "Gabriel",
        "Théo",
        "Raphaël",
        "Jérôme",
        "François",
        "Étienne",
        "Mathéo",
        "Noël",
        "Benoît",
        "Julien",
        "Antoine",
    ],
    female: &[
        "Chloé",
        "Léa",
        "Manon",
        "Camille",
        "Inès",
        "Zoé",
        "Hélène",
        "Margaux",
        "Océane",
        "Élodie",
        "Juliette",
        "Mélanie",
        "Anaïs",
        "Clémence",
    ],
    surnames: &[
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Simon",
        "Laurent",
        "Lefèvre",
        "Michel",
        "Garnier",
        "Bertrand",
        "Roux",
        "Vincent",
        "Fournier",
        "Morel",
        "Girard",
        "André",
        "Mercier",
        "Dupont",
        "Lambert",
        "Bonnet",
        "Fontaine",
        "Chevalier",
        "Gauthier",
        "Bélanger",
    ],
    surnames_female: &[],
};

const ENGLISH: Locale = Locale {
    male: &[
        "James", "Oliver", "William", "Jack", "Noah", "Ethan", "Liam", "Henry", "George", "Samuel",
        "Daniel", "Michael", "Ryan", "Connor",
    ],
    female: &[
        "Emma",
        "Olivia",
        "Amelia",
        "Isla",
        "Sophia",
        "Grace",
        "Chloe",
        "Ava",
        "Mia",
        "Emily",
        "Charlotte",
        "Siobhan",
        "Hannah",
        "Zoe",
    ],
    surnames: &[
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Taylor", "Davies", "Wilson", "Evans",
        "Thomas", "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes",
        "Edwards", "Green", "Hall", "O'Brien", "O'Connor", "McCarthy", "Murphy", "Nguyen", "Patel",
        "García", "Kim",
    ],
    surnames_female: &[],
};

const POLISH: Locale = Locale {
    male: &[
        "Jakub",
        "Kacper",
        "Szymon",
        "Mateusz",
        "Michał",
        "Paweł",
        "Łukasz",
        "Wojciech",
        "Krzysztof",
        "Tomasz",
        "Bartłomiej",
        "Piotr",
    ],
    female: &[
        "Zuzanna",
        "Julia",
        "Małgorzata",
        "Agnieszka",
        "Katarzyna",
        "Aleksandra",
        "Magdalena",
        "Joanna",
        "Barbara",
        "Weronika",
        "Łucja",
        "Ewa",
    ],
    surnames: &[
        "Nowak",
        "Kowalski",
        "Wiśniewski",
        "Wójcik",
        "Kowalczyk",
        "Kamiński",
        "Lewandowski",
        "Zieliński",
        "Szymański",
        "Woźniak",
        "Dąbrowski",
        "Kozłowski",
        "Jankowski",
        "Mazur",
        "Kwiatkowski",
    ],
    surnames_female: &[
        "Nowak",
        "Kowalska",
        "Wiśniewska",
        "Wójcik",
        "Kowalczyk",
        "Kamińska",
        "Lewandowska",
        "Zielińska",
        "Szymańska",
        "Woźniak",
        "Dąbrowska",
        "Kozłowska",
        "Jankowska",
        "Mazur",
        "Kwiatkowska",
    ],
};

const SPANISH: Locale = Locale {
    male: &[
        "Hugo", "Martín", "Lucas", "Mateo", "Álvaro", "Sergio", "Íñigo", "Pablo", "Javier",
        "Andrés",
    ],
    female: &[
        "Lucía", "Sofía", "María", "Martina", "Paula", "Inés", "Carmen", "Elena", "Nerea", "Begoña",
    ],
    surnames: &[
        "García",
        "Rodríguez",
        "González",
        "Fernández",
        "López",
        "Martínez",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Jiménez",
        "Ruiz",
        "Hernández",
        "Díaz",
        "Moreno",
        "Muñoz",
        "Álvarez",
        "Núñez",
        "Peña",
    ],
    surnames_female: &[],
};

const ITALIAN: Locale = Locale {
    male: &[
        "Leonardo",
        "Francesco",
        "Alessandro",
        "Lorenzo",
        "Matteo",
        "Niccolò",
        "Giuseppe",
        "Andrea",
        "Marco",
        "Riccardo",
    ],
    female: &[
        "Giulia",
        "Sofia",
        "Aurora",
        "Alice",
        "Ginevra",
        "Beatrice",
        "Chiara",
        "Francesca",
        "Martina",
        "Elisa",
    ],
    surnames: &[
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
        "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "D'Angelo", "Fabbri",
    ],
    surnames_female: &[],
};

const DUTCH: Locale = Locale {
    male: &[
        "Daan", "Sem", "Lucas", "Levi", "Bram", "Jesse", "Thijs", "Ruben", "Sven", "Joris",
    ],
    female: &[
        "Emma", "Julia", "Mila", "Tess", "Sophie", "Fenna", "Sanne", "Anouk", "Lotte", "Iris",
    ],
    surnames: &[
        "de Jong",
        "Jansen",
        "de Vries",
        "van den Berg",
        "van Dijk",
        "Bakker",
        "Janssen",
        "Visser",
        "Smit",
        "Meijer",
        "de Boer",
        "Mulder",
        "de Groot",
        "Bos",
        "van Leeuwen",
    ],
    surnames_female: &[],
};

const SWEDISH: Locale = Locale {
    male: &[
        "Oscar", "William", "Elias", "Hugo", "Axel", "Gustav", "Nils", "Björn", "Anders", "Måns",
    ],
    female: &[
        "Alice", "Maja", "Elsa", "Astrid", "Ingrid", "Saga", "Linnéa", "Ebba", "Sigrid", "Åsa",
    ],
    surnames: &[
        "Andersson",
        "Johansson",
        "Karlsson",
        "Nilsson",
        "Eriksson",
        "Larsson",
        "Olsson",
        "Persson",
        "Svensson",
        "Gustafsson",
        "Lindström",
        "Åberg",
        "Söderberg",
        "Öberg",
        "Bergström",
    ],
    surnames_female: &[],
};

/// A country customers live in.
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2 code, as written in the CSVs.
    pub code: &'static str,
    /// Share of customers and anonymous visitors.
    pub weight: f64,
    pub locale: &'static Locale,
    pub cities: &'static [&'static str],
    /// Free-mail domains used by private customers.
    pub mail_domains: &'static [&'static str],
    /// Top-level domain of local companies.
    pub tld: &'static str,
    pub company_suffixes: &'static [&'static str],
    /// Flat shipping fee in cents when the order is below the free-shipping threshold.
    pub shipping_cents: i64,
}

/// All countries, in a fixed order (their index is stored, not their code).
pub(crate) const COUNTRIES: [Country; 12] = [
    Country {
        code: "DE",
        weight: 0.22,
        locale: &GERMAN,
        cities: &[
            "Berlin",
            "Hamburg",
            "München",
            "Köln",
            "Frankfurt am Main",
            "Stuttgart",
            "Düsseldorf",
            "Leipzig",
            "Nürnberg",
            "Dresden",
        ],
        mail_domains: &["gmx.de", "web.de", "t-online.de"],
        tld: "de",
        company_suffixes: &["GmbH", "AG", "KG", "GmbH & Co. KG"],
        shipping_cents: 499,
    },
    Country {
        code: "AT",
        weight: 0.05,
        locale: &GERMAN,
        cities: &[
            "Wien",
            "Graz",
            "Linz",
            "Salzburg",
            "Innsbruck",
            "Klagenfurt",
        ],
        mail_domains: &["gmx.at", "aon.at"],
        tld: "at",
        company_suffixes: &["GmbH", "AG", "OG"],
        shipping_cents: 499,
    },
    Country {
        code: "CH",
        weight: 0.03,
        locale: &GERMAN,
        cities: &["Zürich", "Genève", "Basel", "Bern", "Lausanne", "Luzern"],
        mail_domains: &["bluewin.ch", "gmx.ch"],
        tld: "ch",
        company_suffixes: &["AG", "GmbH", "SA"],
        shipping_cents: 999,
    },
    Country {
        code: "CZ",
        weight: 0.15,
        locale: &CZECH,
        cities: &[
            "Praha",
            "Brno",
            "Ostrava",
            "Plzeň",
            "Olomouc",
            "Liberec",
            "České Budějovice",
            "Hradec Králové",
            "Ústí nad Labem",
            "Pardubice",
        ],
        mail_domains: &["seznam.cz", "email.cz", "centrum.cz"],
        tld: "cz",
        company_suffixes: &["s.r.o.", "a.s.", "spol. s r.o."],
        shipping_cents: 499,
    },
    Country {
        code: "FR",
        weight: 0.12,
        locale: &FRENCH,
        cities: &[
            "Paris",
            "Lyon",
            "Marseille",
            "Toulouse",
            "Nice",
            "Nantes",
            "Strasbourg",
            "Bordeaux",
            "Lille",
            "Besançon",
        ],
        mail_domains: &["orange.fr", "free.fr", "laposte.net"],
        tld: "fr",
        company_suffixes: &["SARL", "SAS", "SA"],
        shipping_cents: 499,
    },
    Country {
        code: "GB",
        weight: 0.08,
        locale: &ENGLISH,
        cities: &[
            "London",
            "Manchester",
            "Birmingham",
            "Leeds",
            "Glasgow",
            "Bristol",
            "Edinburgh",
            "Cardiff",
        ],
        mail_domains: &["btinternet.com", "hotmail.co.uk", "yahoo.co.uk"],
        tld: "co.uk",
        company_suffixes: &["Ltd", "PLC", "LLP"],
        shipping_cents: 999,
    },
    Country {
        code: "US",
        weight: 0.10,
        locale: &ENGLISH,
        cities: &[
            "New York",
            "Los Angeles",
            "Chicago",
            "Houston",
            "Seattle",
            "Boston",
            "Austin",
            "Denver",
            "San José",
        ],
        mail_domains: &["yahoo.com", "icloud.com", "aol.com"],
        tld: "com",
        company_suffixes: &["Inc.", "LLC", "Corp."],
        shipping_cents: 999,
    },
    Country {
        code: "PL",
        weight: 0.07,
        locale: &POLISH,
        cities: &[
            "Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin",
        ],
        mail_domains: &["wp.pl", "onet.pl", "interia.pl"],
        tld: "pl",
        company_suffixes: &["sp. z o.o.", "S.A."],
        shipping_cents: 499,
    },
    Country {
        code: "ES",
        weight: 0.05,
        locale: &SPANISH,
        cities: &[
            "Madrid",
            "Barcelona",
            "Valencia",
            "Sevilla",
            "Málaga",
            "Bilbao",
            "A Coruña",
        ],
        mail_domains: &["hotmail.es", "telefonica.net"],
        tld: "es",
        company_suffixes: &["S.L.", "S.A."],
        shipping_cents: 499,
    },
    Country {
        code: "IT",
        weight: 0.05,
        locale: &ITALIAN,
        cities: &[
            "Roma", "Milano", "Napoli", "Torino", "Bologna", "Firenze", "Forlì",
        ],
        mail_domains: &["libero.it", "virgilio.it", "tiscali.it"],
        tld: "it",
        company_suffixes: &["S.r.l.", "S.p.A."],
        shipping_cents: 499,
    },
    Country {
        code: "NL",
        weight: 0.04,
        locale: &DUTCH,
        cities: &[
            "Amsterdam",
            "Rotterdam",
            "Den Haag",
            "Utrecht",
            "Eindhoven",
            "Groningen",
        ],
        mail_domains: &["ziggo.nl", "kpnmail.nl"],
        tld: "nl",
        company_suffixes: &["B.V.", "N.V."],
        shipping_cents: 499,
    },
    Country {
        code: "SE",
        weight: 0.04,
        locale: &SWEDISH,
        cities: &[
            "Stockholm",
            "Göteborg",
            "Malmö",
            "Uppsala",
            "Västerås",
            "Örebro",
        ],
        mail_domains: &["telia.com", "bredband.net"],
        tld: "se",
        company_suffixes: &["AB"],
        shipping_cents: 499,
    },
];

/// Free-mail domains used everywhere.
const GLOBAL_MAIL: [&str; 3] = ["gmail.com", "outlook.com", "proton.me"];

/// Weights of [`COUNTRIES`], in order.
pub(crate) fn country_weights() -> Vec<f64> {
    COUNTRIES.iter().map(|c| c.weight).collect()
}

/// A person's first and last name, drawn for `country`.
pub(crate) fn person(rng: &mut Rng, country: usize) -> (&'static str, &'static str) {
    let locale = COUNTRIES[country].locale;
    let female = rng.chance(0.5);
    if female {
        let first = rng.pick(locale.female);
        let last = if locale.surnames_female.is_empty() {
            rng.pick(locale.surnames)
        } else {
            rng.pick(locale.surnames_female)
        };
        (first, last)
    } else {
        (rng.pick(locale.male), rng.pick(locale.surnames))
    }
}

const COMPANY_WORDS: [&str; 16] = [
    "Alpine",
    "Nordic",
    "Central",
    "Atlas",
    "Vector",
    "Summit",
    "Horizon",
    "Blue River",
    "Zlatá",
    "Danube",
    "Baltic",
    "Meridian",
    "Polar",
    "Orion",
    "Cedar",
    "Quantum",
];
const INDUSTRIES: [&str; 12] = [
    "Logistics",
    "Consulting",
    "Engineering",
    "Trading",
    "Systems",
    "Solutions",
    "Media",
    "Labs",
    "Manufacturing",
    "Retail",
    "Hospitality",
    "Design",
];

/// A company: its display name and the slug its e-mail domain is built from.
pub(crate) struct Company {
    pub name: String,
    pub slug: String,
}

/// A company name of `country`: "Müller GmbH", "Alpine Logistics AB", and about one in ten with a
/// comma and double quotes (`Smith, Jones & "Partners"`).
pub(crate) fn company(rng: &mut Rng, country: usize) -> Company {
    let c = &COUNTRIES[country];
    let suffix = rng.pick(c.company_suffixes);
    let last = rng.pick(c.locale.surnames);
    let other = rng.pick(c.locale.surnames);
    match rng.weighted(&[0.40, 0.20, 0.30, 0.05, 0.05]) {
        0 => Company {
            name: format!("{last} {suffix}"),
            slug: slug(last),
        },
        1 => Company {
            name: format!("{last} & {other} {suffix}"),
            slug: slug(&format!("{last} {other}")),
        },
        2 => {
            let word = rng.pick(&COMPANY_WORDS);
            let industry = rng.pick(&INDUSTRIES);
            Company {
                name: format!("{word} {industry} {suffix}"),
                slug: slug(&format!("{word} {industry}")),
            }
        }
        3 => Company {
            name: format!("{last}, {other} & \"Partners\""),
            slug: slug(&format!("{last} {other} partners")),
        },
        _ => {
            let word = rng.pick(&COMPANY_WORDS);
            let industry = rng.pick(&INDUSTRIES);
            Company {
                name: format!("\"{word}\" {industry}, {suffix}"),
                slug: slug(&format!("{word} {industry}")),
            }
        }
    }
}

/// A unique e-mail address for a person; `company` makes it a work address.
pub(crate) fn email(
    rng: &mut Rng,
    first: &str,
    last: &str,
    country: usize,
    company: Option<&Company>,
    used: &mut HashSet<String>,
) -> String {
    let f = fold(first);
    let l = fold(last);
    let (local, domain) = match company {
        Some(co) => {
            let local = if rng.chance(0.7) {
                format!("{f}.{l}")
            } else {
                format!("{}{l}", f.chars().next().unwrap_or('x'))
            };
            (local, format!("{}.{}", co.slug, COUNTRIES[country].tld))
        }
        None => {
            let local = match rng.weighted(&[0.5, 0.2, 0.15, 0.15]) {
                0 => format!("{f}.{l}"),
                1 => format!("{f}{l}"),
                2 => format!("{}.{l}", f.chars().next().unwrap_or('x')),
                _ => format!("{f}_{l}{}", rng.between(70, 105) % 100),
            };
            let domain = if rng.chance(0.5) {
                rng.pick(&GLOBAL_MAIL)
            } else {
                rng.pick(COUNTRIES[country].mail_domains)
            };
            (local, domain.to_string())
        }
    };
    let mut candidate = format!("{local}@{domain}");
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{local}{n}@{domain}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

/// An e-mail address for a lead who is not (yet) a customer; not necessarily unique.
pub(crate) fn lead_email(rng: &mut Rng, country: usize) -> String {
    let (first, last) = person(rng, country);
    let domain = if rng.chance(0.5) {
        rng.pick(&GLOBAL_MAIL)
    } else {
        rng.pick(COUNTRIES[country].mail_domains)
    };
    format!(
        "{}.{}{}@{domain}",
        fold(first),
        fold(last),
        rng.between(1, 99)
    )
}

/// Lower-case ASCII letters and digits of `text` (accents folded: "Dvořák" → "dvorak").
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars().flat_map(char::to_lowercase) {
        let s: &str = match ch {
            'a'..='z' | '0'..='9' => {
                out.push(ch);
                continue;
            }
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'č' | 'ć' => "c",
            'ď' => "d",
            'é' | 'è' | 'ê' | 'ë' | 'ě' | 'ę' => "e",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'ł' => "l",
            'ñ' | 'ň' | 'ń' => "n",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ő' => "o",
            'ř' => "r",
            'š' | 'ś' => "s",
            'ß' => "ss",
            'ť' => "t",
            'ú' | 'ù' | 'û' | 'ü' | 'ů' | 'ű' => "u",
            'ý' | 'ÿ' => "y",
            'ž' | 'ź' | 'ż' => "z",
            _ => "",
        };
        out.push_str(s);
    }
    out
}

/// Words of `text` folded to ASCII and joined with `-` ("Valentine's Day 2026" → "valentines-day-2026").
pub(crate) fn slug(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '-' || c == '&' || c == ',')
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// One product category of the catalogue.
pub(crate) struct Category {
    pub name: &'static str,
    /// Three-letter SKU prefix.
    pub code: &'static str,
    /// Cost as a share of price.
    pub cost_ratio: f64,
    /// Base price range in euros.
    pub price: (f64, f64),
    /// Shipping weight range in grams.
    pub grams: (i64, i64),
    pub items: [&'static str; 15],
    /// Name suffixes ("" = the plain item); index is part of the SKU.
    pub editions: &'static [&'static str],
    /// Variant shown in parentheses (colour, size, language …); index is part of the SKU.
    pub variants: &'static [&'static str],
}

/// The six categories, 15 base items each.
pub(crate) const CATEGORIES: [Category; 6] = [
    Category {
        name: "Electronics",
        code: "ELE",
        cost_ratio: 0.72,
        price: (19.0, 899.0),
        grams: (40, 3500),
        items: [
            "Wireless Earbuds",
            "Bluetooth Speaker",
            "USB-C Charger",
            "Smartwatch",
            "Noise-Cancelling Headphones",
            "Portable Power Bank",
            "Mechanical Keyboard",
            "Wireless Mouse",
            "4K Webcam",
            "E-Reader",
            "Action Camera",
            "Smart Plug",
            "Fitness Tracker",
            "Portable SSD",
            "Tablet Stand",
        ],
        editions: &["", " Pro", " Lite", " Plus", " Mini", " Max"],
        variants: &[
            "Black",
            "White",
            "Graphite",
            "Silver",
            "Midnight Blue",
            "Rose Gold",
            "Sage Green",
            "Coral",
        ],
    },
    Category {
        name: "Home & Kitchen",
        code: "HOM",
        cost_ratio: 0.55,
        price: (9.0, 349.0),
        grams: (150, 6000),
        items: [
            "Espresso Machine",
            "Cast Iron Skillet",
            "Chef's Knife",
            "Blender",
            "Ceramic Mug Set",
            "French Press",
            "Bamboo Cutting Board",
            "Electric Kettle",
            "Linen Bedding Set",
            "Scented Candle",
            "Table Lamp",
            "Storage Baskets",
            "Non-Stick Pan",
            "Glass Food Containers",
            "Throw Blanket",
        ],
        editions: &["", " Deluxe", " Compact", " XL"],
        variants: &[
            "Stainless Steel",
            "Matte Black",
            "White",
            "Oak",
            "Walnut",
            "Slate Grey",
            "Terracotta",
            "Sage",
        ],
    },
    Category {
        name: "Fashion",
        code: "FAS",
        cost_ratio: 0.45,
        price: (15.0, 249.0),
        grams: (100, 1800),
        items: [
            "Merino Sweater",
            "Denim Jacket",
            "Running Sneakers",
            "Leather Belt",
            "Rain Jacket",
            "Cotton T-Shirt",
            "Chino Trousers",
            "Wool Scarf",
            "Canvas Backpack",
            "Ankle Boots",
            "Linen Shirt",
            "Hoodie",
            "Baseball Cap",
            "Silk Tie",
            "Sunglasses",
        ],
        editions: &["", " Slim Fit", " Relaxed Fit", " Organic"],
        variants: &[
            "Navy, M",
            "Black, S",
            "Olive, L",
            "Grey, XL",
            "Sand, M",
            "Burgundy, L",
            "White, S",
            "Forest Green, M",
        ],
    },
    Category {
        name: "Sports & Outdoors",
        code: "SPO",
        cost_ratio: 0.55,
        price: (12.0, 499.0),
        grams: (80, 8000),
        items: [
            "Yoga Mat",
            "Trekking Poles",
            "Camping Tent",
            "Sleeping Bag",
            "Water Bottle",
            "Cycling Helmet",
            "Resistance Bands",
            "Dumbbell Set",
            "Trail Running Shoes",
            "Climbing Chalk Bag",
            "Headlamp",
            "Insulated Jacket",
            "Foam Roller",
            "Hiking Backpack",
            "Tennis Racket",
        ],
        editions: &["", " Pro", " Ultralight", " Junior"],
        variants: &[
            "Black", "Orange", "Blue", "Green", "Red", "Charcoal", "Yellow", "Teal",
        ],
    },
    Category {
        name: "Beauty & Care",
        code: "BEA",
        cost_ratio: 0.38,
        price: (5.0, 129.0),
        grams: (30, 900),
        items: [
            "Face Serum",
            "Moisturizing Cream",
            "Shampoo",
            "Conditioner",
            "Electric Toothbrush",
            "Hair Dryer",
            "Sunscreen SPF 50",
            "Lip Balm",
            "Beard Oil",
            "Body Lotion",
            "Eau de Parfum",
            "Makeup Brush Set",
            "Nail Care Kit",
            "Hand Cream",
            "Clay Mask",
        ],
        editions: &["", " Sensitive", " Intense", " Organic"],
        variants: &[
            "50 ml",
            "100 ml",
            "200 ml",
            "Travel Size",
            "Lavender",
            "Citrus",
            "Unscented",
            "Rose",
        ],
    },
    Category {
        name: "Books & Media",
        code: "BOO",
        cost_ratio: 0.60,
        price: (6.0, 79.0),
        grams: (100, 2500),
        items: [
            "Cookbook",
            "Travel Guide",
            "Novel Hardcover",
            "Children's Picture Book",
            "Sci-Fi Paperback",
            "Board Game",
            "Jigsaw Puzzle",
            "Vinyl Record",
            "Notebook",
            "Art Print",
            "Language Course",
            "Photography Book",
            "Comic Collection",
            "Audiobook Voucher",
            "Strategy Card Game",
        ],
        editions: &["", " Collector's Edition", " Gift Set", " 2nd Edition"],
        variants: &[
            "English",
            "Deutsch",
            "Français",
            "Čeština",
            "Español",
            "Italiano",
            "Polski",
            "Nederlands",
        ],
    },
];

/// Campaign channels as stored, with their display names used in campaign names.
pub(crate) const CAMPAIGN_CHANNELS: [(&str, &str); 7] = [
    ("email", "Email"),
    ("paid_search", "Paid Search"),
    ("paid_social", "Paid Social"),
    ("organic_social", "Organic Social"),
    ("display", "Display"),
    ("affiliate", "Affiliate"),
    ("retargeting", "Retargeting"),
];

/// Campaign name templates by start month (January first).
pub(crate) const SEASONAL_TEMPLATES: [[&str; 2]; 12] = [
    ["New Year Sale", "Winter Clearance"],
    ["Valentine's Day", "Winter Clearance"],
    ["Spring Collection", "Easter Deals"],
    ["Easter Deals", "Spring Collection"],
    ["Mother's Day", "Outdoor Season"],
    ["Summer Kickoff", "Father's Day"],
    ["Summer Sale", "Holiday Travel Essentials"],
    ["Summer Clearance", "Back to School"],
    ["Back to School", "Autumn Collection"],
    ["Autumn Collection", "Halloween Specials"],
    ["Black Friday", "Cyber Week"],
    ["Christmas Gifts", "Last-Minute Gifts"],
];

/// Campaign name templates for any season.
pub(crate) const GENERIC_TEMPLATES: [&str; 7] = [
    "Brand Awareness",
    "Loyalty Rewards",
    "Product Launch",
    "Win-Back",
    "Free Shipping Week",
    "Newsletter Signup Drive",
    "Customer Referral",
];

/// Landing pages of sessions that did not come through a campaign or a product link.
pub(crate) const LANDING_PAGES: [&str; 14] = [
    "/",
    "/sale",
    "/new-arrivals",
    "/category/electronics",
    "/category/home-kitchen",
    "/category/fashion",
    "/category/sports-outdoors",
    "/category/beauty-care",
    "/category/books-media",
    "/blog/gift-guide",
    "/blog/how-to-choose-running-shoes",
    "/search?q=headphones",
    "/account/orders",
    "/help/shipping",
];

/// Relative weights of [`LANDING_PAGES`].
pub(crate) const LANDING_WEIGHTS: [f64; 14] = [
    0.30, 0.06, 0.05, 0.07, 0.05, 0.06, 0.04, 0.04, 0.03, 0.04, 0.02, 0.03, 0.05, 0.03,
];

/// Support ticket categories: (name, subjects). `{order}` is replaced by the order id; subjects
/// with it are used only for tickets about an order.
pub(crate) const TICKET_CATEGORIES: [(&str, &[&str]); 7] = [
    (
        "shipping",
        &[
            "Where is my order {order}?",
            "Parcel shows delivered but not received",
            "Delivery address change",
            "Tracking number not working",
            "Package delayed for a week",
        ],
    ),
    (
        "returns",
        &[
            "Return label request for {order}",
            "Refund not received yet",
            "Wrong size, want to exchange",
            "Item arrived damaged, please advise",
        ],
    ),
    (
        "order_issue",
        &[
            "Missing item in order {order}",
            "Wrong product delivered",
            "Please cancel order {order}",
            "Order stuck in \"pending\"",
        ],
    ),
    (
        "billing",
        &[
            "Charged twice for {order}",
            "Invoice needs our VAT number",
            "Payment failed but money deducted",
            "Request for a corrected invoice",
        ],
    ),
    (
        "product_question",
        &[
            "Is this compatible with my device?",
            "Size chart question",
            "When will it be back in stock?",
            "Warranty information",
        ],
    ),
    (
        "technical",
        &[
            "Cannot log in to the app",
            "Checkout page shows an error",
            "Password reset e-mail not arriving",
            "App crashes on the payment step",
        ],
    ),
    (
        "account",
        &[
            "Delete my account (GDPR)",
            "Change e-mail address",
            "Unsubscribe from newsletter",
            "Update billing address",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_to_ascii() {
        assert_eq!(fold("Dvořák"), "dvorak");
        assert_eq!(fold("Weiß"), "weiss");
        assert_eq!(fold("O'Brien"), "obrien");
        assert_eq!(fold("Łukasz"), "lukasz");
        assert_eq!(
            slug("Valentine's Day - Email 2026"),
            "valentines-day-email-2026"
        );
        assert_eq!(slug("van den Berg"), "van-den-berg");
    }

    #[test]
    fn weights_and_lists_are_sane() {
        let total: f64 = country_weights().iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
        for c in &COUNTRIES {
            assert!(!c.cities.is_empty() && !c.mail_domains.is_empty());
            assert!(!c.company_suffixes.is_empty());
            let l = c.locale;
            assert!(!l.male.is_empty() && !l.female.is_empty() && !l.surnames.is_empty());
            assert!(l.surnames_female.is_empty() || l.surnames_female.len() == l.surnames.len());
        }
        for cat in &CATEGORIES {
            assert!(cat.editions.len() <= 10 && cat.variants.len() <= 99);
        }
        assert_eq!(LANDING_PAGES.len(), LANDING_WEIGHTS.len());
    }
}
