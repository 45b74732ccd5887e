"""The words of each category, hand-curated for linkback (not part of the IAB taxonomy).

Each entry names a Tier-1 (``"Sports"``) or Tier-2 node (``"Sports > Tennis"``) of the bundled
taxonomy and lists words and phrases of it, comma-separated, in English, German, French, Spanish,
Italian, Portuguese, Polish and Dutch where they differ, with a few Russian and Chinese ones. The
node's own names (and those of its Tier-3 and 4 nodes) are words of it too, added by
:mod:`._classify`. Matching folds case and accents (``Fußball`` is ``fussball``, ``Préstamos``
``prestamos``):

* ``word`` matches the whole word (and its English plural in ``-s``/``-es``);
* ``word*`` every word that starts with it (``fussball*``: Fußballverein, Fußballspiel);
* ``*word`` every word that ends with it (``*kuchen``: Zitronenkuchen), German compounds;
* ``two words`` / ``three word phrase`` the words in that order;
* a term in a script written without spaces (Chinese, Japanese, Korean, Bengali...) anywhere in the text.

A word that belongs to several categories counts for each in part (its weight divided among
them). Words every site uses (news, home, blog, contact, cookies...) are in none.
"""

from __future__ import annotations

TERMS: dict[str, str] = {
    # --- Attractions ------------------------------------------------------------------------------------
    "Attractions": "attraction*, sehenswurdigkeit*, ausflugsziel*, ausflugstipp*, things to do, day out",
    "Attractions > Amusement and Theme Parks": (
        "theme park*, amusement park*, freizeitpark*, roller coaster*, achterbahn*, disneyland, parc "
        "d'attractions, parque de atracciones, vergnugungspark*"
    ),
    "Attractions > Bars & Restaurants": (
        "bars, pub, pubs, kneipe*, cocktailbar*, biergarten, beer garden*, brewpub*, wine bar*, weinbar*"
    ),
    "Attractions > Casinos & Gambling": (
        "casino*, *casino, gambling, gamble*, gambler*, betting, sportsbook*, slot machine*, slots, roulette, "
        "blackjack, baccarat, bookmaker*, buchmacher*, glucksspiel*, spielbank*, spielautomat*, sportwette*, "
        "wettanbieter*, apuestas, scommesse, apostas, online casino*, free spins, 赌场, 博彩, 娱乐城, 百家乐, 真人娱乐, 赌博, "
        "投注"
    ),
    "Attractions > Historic Site and Landmark Tours": (
        "landmark*, monument*, castle*, schloss, schlosser, burg, burgen, denkmal*, historic site*, palace*, "
        "palast*, chateau*, castillo*, castello, unesco, world heritage, weltkulturerbe, welterbe, altstadt*, "
        "old town"
    ),
    "Attractions > Malls & Shopping Centers": "shopping mall*, shopping cent*, einkaufszentr*, outlet cent*",
    "Attractions > Museums & Galleries": (
        "museum*, *museum, museen, musee*, museo*, museu*, muzeum*, gallery, galleries, galerie*, "
        "ausstellung*, *ausstellung, exhibition*, exposition*, exposicion*, mostra"
    ),
    "Attractions > Nightclubs": "nightclub*, nightlife, nachtleben, diskothek*, disco, discotheque, clubbing",
    "Attractions > Outdoor Activities": (
        "hiking, hike, hikes, hiker*, trekking, wandern, wanderung*, wanderweg*, wandertour*, randonnee*, "
        "senderismo, escursion*, bergtour*, klettersteig*, outdoor, outdoors, survival kit*, picnic*, "
        "picknick*"
    ),
    "Attractions > Parks & Nature": (
        "national park*, nationalpark*, nature reserve*, naturschutzgebiet*, naturpark*, botanical garden*, "
        "botanischer garten, parque nacional, parc national"
    ),
    "Attractions > Theater Venues": (
        "opera house*, opernhaus, concert hall*, konzerthaus*, philharmonie*, schauspielhaus*, stadttheater*"
    ),
    "Attractions > Zoos & Aquariums": "zoo, zoos, tierpark*, tiergarten*, safari park*, aquarium*, wildpark*",
    # --- Automotive -------------------------------------------------------------------------------------
    "Automotive": (
        "car, cars, automobile*, automobil*, automotive, vehicle*, fahrzeug*, *fahrzeug, pkw, kfz, auto, "
        "autos, voiture*, coche, coches, carro, carros, automovel, automoveis, samochod*, autobauer*, "
        "autohersteller*, autoindustrie*, autofabrik*, carmaker*, automaker*, driving, fahrer, autofahrer*, "
        "bmw, audi, mercedes, mercedes-benz, volkswagen, vw, toyota, honda, ford, tesla, porsche, nissan, "
        "hyundai, kia, skoda, opel, renault, peugeot, citroen, fiat, volvo, mazda, subaru, jeep, chevrolet, "
        "lexus, dacia, seat, cupra, mitsubishi, suzuki, model 3, model y, autohaus*, autohaus, motor show, "
        "autosalon, автомобил*, 汽车"
    ),
    "Automotive > Auto Body Styles": (
        "suv, suvs, sedan*, coupe, coupes, convertible*, cabrio*, cabriolet*, pickup*, pick-up, minivan*, "
        "hatchback*, kombi, roadster*, kleinwagen*, crossover*, limousine*"
    ),
    "Automotive > Auto Buying and Selling": (
        "car dealer*, dealership*, autohandler*, autohandel, gebrauchtwagen*, used car*, neuwagen*, car "
        "sales, autokauf*, car buying, zulassung*, neuzulassung*"
    ),
    "Automotive > Auto Insurance": "car insurance, auto insurance, kfz-versicherung*, autoversicherung*",
    "Automotive > Auto Parts": (
        "auto parts, car parts, ersatzteil*, tyres, tires, reifen, winterreifen, sommerreifen, felge*, "
        "bremse*, brake pad*"
    ),
    "Automotive > Auto Recalls": "car recall*, ruckruf*",
    "Automotive > Auto Rentals": "car rental*, mietwagen*, autovermietung*, car hire, rent a car",
    "Automotive > Auto Repair": (
        "car repair*, auto repair*, autowerkstatt*, kfz-werkstatt*, mechanic*, inspektion*, tuv, oil change, olwechsel"
    ),
    "Automotive > Auto Safety": (
        "crash test*, crashtest*, euro ncap, ncap, airbag*, seatbelt*, sicherheitsgurt*, fahrassistent*"
    ),
    "Automotive > Auto Shows": "auto show*, motor show*, autosalon*, iaa, auto expo, car show*",
    "Automotive > Auto Technology": (
        "electric car*, electric vehicle*, elektroauto*, e-auto*, elektrofahrzeug*, electric suv, ev "
        "charging, charging station*, ladestation*, ladesaule*, wallbox*, self-driving, autonomous driving, "
        "autonomes fahren, hybrid car*, plug-in hybrid*, infotainment"
    ),
    "Automotive > Car Culture": "classic car*, oldtimer*, youngtimer*, car club*, tuning, car meet*, vintage car*",
    "Automotive > Motorcycles": (
        "motorcycle*, motorbike*, motorrad*, *motorrad, moto, motos, biker*, harley, ducati, kawasaki"
    ),
    "Automotive > Scooters": "scooter*, e-scooter*, motorroller*, vespa",
    "Automotive > Road-Side Assistance": "roadside assistance, pannenhilfe, pannendienst*, adac, breakdown cover",
    # --- Books and Literature ---------------------------------------------------------------------------
    "Books and Literature": (
        "book, books, buch, bucher, novel, novels, novelist*, literature, literatur*, litterature, "
        "literatura, letteratura, literatuur, author, authors, autorin, autoren, writer*, schriftsteller*, "
        "ecrivain*, escritor*, scrittor*, pisarz*, bestseller*, publisher*, verlag, verlage, verlagshaus*, "
        "livre*, libro, libros, libri, livro*, ksiazk*, boek, boeken, bookshop*, bookstore*, buchhandlung*, "
        "book review*, buchrezension*, buchmesse*, book fair*, lesung*, bibliothek*, bibliotheque*, "
        "biblioteca*, ebook*, e-book*, hörbuch*, horbuch*, audiobook*, roman, romane, memoir*, biography, "
        "biografie*, biographie*, essay*, anthology, kinderbuch*, jugendbuch*, writer's, booker, pulitzer, "
        "nobel prize in literature, literaturpreis*"
    ),
    "Books and Literature > Art and Photography": "art book*, photo book*, bildband*, fotobuch*",
    "Books and Literature > Comics and Graphic Novels": (
        "comic*, graphic novel*, manga, bande dessinee, marvel comics, dc comics, superhero*"
    ),
    "Books and Literature > Fiction": (
        "fiction, novel*, krimi*, thriller*, fantasy novel*, short stor*, kurzgeschicht*, erzahlung*, erzahlband*"
    ),
    "Books and Literature > Poetry": (
        "poetry, poem*, poet, poets, gedicht*, lyrik*, poesie, poesia, poezj*, dichter*, sonnet*"
    ),
    # --- Business and Finance ---------------------------------------------------------------------------
    "Business and Finance": (
        "business, businesses, company, companies, firm, firms, corporate, corporation*, unternehmen, "
        "unternehmens*, konzern*, firma, firmen*, *konzern, entreprise*, empresa*, empresas, azienda*, "
        "aziende, przedsiebiorst*, firmy, bedrijf*, ceo, cfo, coo, chief executive, executive*, vorstand*, "
        "geschaftsfuhrer*, manager*, management, revenue*, umsatz*, profit*, gewinn*, earnings, quarterly, "
        "quartal*, shareholder*, aktionar*, investor*, stock price*, share price*, shares, stock, stocks, "
        "aktie*, borse*, bourse, bolsa, wall street, nasdaq, dow jones, s&p 500, dax, ftse, nikkei, ipo, "
        "industrie, handel, commerce, retail*, retailer*, einzelhandel*, grosshandel*, wholesale*, b2b, "
        "finance, finanz*, financ*, investment*, investor, mittelstand*, kmu, sme, smes, wirtschaft, "
        "economic, gospodark*, 经济, 企业, 公司"
    ),
    "Business and Finance > Business": (
        "startup*, start-up*, founder*, grunder*, grunderin*, leadership, fuhrungskraft*, fuhrung, "
        "unternehmensfuhrung, strategy, strategie*, marketing, advertising, werbung, werbeagentur*, agentur*, "
        "branding, brand strategy, sales team*, vertrieb*, human resources, hr, personalabteilung*, "
        "personalwesen, recruiting, employer branding, arbeitgeber*, employee*, mitarbeiter*, mitarbeitende*, "
        "beschaftigte*, workforce, layoff*, laid off, job cut*, stellenabbau, entlassung*, merger*, "
        "acquisition*, ubernahme*, akquisition*, fusion*, takeover*, venture capital, private equity, "
        "fintech*, funding round*, finanzierungsrunde*, invoice*, rechnung*, accounting, buchhaltung*, "
        "bankruptcy, insolvenz*, bankrott, logistics, logistik*, supply chain*, lieferkette*, consulting, "
        "beratung*, berater*, unternehmensberatung*, business model*, geschaftsmodell*, kunden, customers, "
        "kundenservice, customer service, b2c, leasing, coworking, office*, buro*, digitalisierung, digital "
        "transformation, transformation, e-commerce, ecommerce, onlinehandel, onlineshop betreiber*, "
        "unternehmenskultur*, corporate culture, business news, annual report*, geschaftsbericht*, "
        "empresario*, negocio*, affaires, entreprises, imprese"
    ),
    "Business and Finance > Economy": (
        "economy, economies, economic*, economist*, wirtschaft*, *wirtschaft, konjunktur*, volkswirtschaft*, "
        "economie, economia, ekonomi*, gospodark*, inflation*, inflacion, inflacao, inflazione, inflacj*, "
        "deflation, recession*, rezession*, gdp, bip, pib, interest rate*, zinsen, zinssatz*, leitzins*, "
        "central bank*, zentralbank*, ezb, ecb, federal reserve, fed, trade war*, handelskrieg*, tariff*, "
        "zolle, strafzoll*, trade deal*, handelsabkommen*, free trade, freihandel*, export*, import*, "
        "commodit*, rohstoff*, oil price*, olpreis*, gas price*, gaspreis*, gasoline price*, benzinpreis*, "
        "currency, currencies, wahrung*, exchange rate*, wechselkurs*, dollar, euro, yen, yuan, bitcoin "
        "price, job market*, arbeitsmarkt*, unemployment, arbeitslos*, desempleo, chomage, housing market*, "
        "wohnungsmarkt*, immobilienmarkt*, financial crisis, finanzkrise*, salario minimo, mindestlohn*, "
        "wage*, lohn, lohne, tarifrunde*, tarifverhandlung*, gewerkschaft*, union*, sindicato*, syndicat*, "
        "strike*, streik*, huelga*, mittelstand, markets, stock market*, aktienmarkt*, finanzmarkt*, "
        "financial market*"
    ),
    "Business and Finance > Industries": (
        "industry, industries, industrie*, *industrie, industrial, industria*, przemysl*, manufactur*, "
        "fabrik*, factory, factories, werk, werke, agriculture, agricultural, landwirtschaft*, landwirt*, "
        "agrar*, farm, farms, farmer*, farming, bauer, bauern, ackerbau, viehzucht, energy, energie*, "
        "*energie, energies, energia, renewable*, erneuerbar*, power plant*, kraftwerk*, *kraftwerk, solar*, "
        "photovoltai*, wind farm*, windpark*, windkraft*, windenergie*, wind turbine*, hydrogen, "
        "wasserstoff*, battery, batteries, batterie*, akku*, oil and gas, erdol*, erdgas*, pipeline*, "
        "utilit*, stadtwerke*, recycling*, entsorgung*, kreislaufwirtschaft*, abfallwirtschaft*, waste "
        "management, construction industry, bauindustrie*, bauwirtschaft*, baugewerbe*, ingenieurbau*, "
        "statik*, bauingenieur*, tiefbau*, engineering firm*, aviation, luftfahrt*, airline*, "
        "fluggesellschaft*, shipping, reederei*, schifffahrt*, rail freight, pharmaindustrie*, pharmaceutical "
        "industry, telecom*, telekommunikation*, telekom*, defense industry, rustungsindustrie*, arms maker*, "
        "food industry, lebensmittelindustrie*, lebensmittelhandel*, retail trade, fmcg, hospitality "
        "industry, gastgewerbe*, hotellerie, chemical industry, chemieindustrie*, steel, stahl*, automotive "
        "industry, zulieferer*, mining, bergbau*, handwerk*, *handwerk, handwerker*, handwerksbetrieb*, "
        "gewerbe*, 农业, 工业, 制造"
    ),
    # --- Careers ----------------------------------------------------------------------------------------
    "Careers": (
        "career*, karriere*, job, jobs, *jobs, beruf*, berufs*, employment, profession*, emploi*, empleo*, "
        "lavoro, emprego*, praca, vacature*, workplace, arbeitsplatz*, arbeitswelt*, arbeitnehmer*, arbeit, "
        "arbeitsleben, kollegen, kolleg*, coworker*, colleagues, salary, salaries, gehalt*, gehalter, 招聘, 求职"
    ),
    "Careers > Apprenticeships": "apprentice*, ausbildung*, azubi*, lehrstelle*, lehrling*, apprendistato",
    "Careers > Career Advice": (
        "career advice, karrieretipp*, job interview*, vorstellungsgesprach*, bewerbungsgesprach*, soft "
        "skills, coaching*, coach, mentor*, personal development, personlichkeitsentwicklung*, burnout, "
        "work-life"
    ),
    "Careers > Career Planning": "career planning, karriereplanung*, berufswahl*, career change, quereinstieg*",
    "Careers > Job Search": (
        "job search*, jobsuche*, job board*, jobborse*, stellenangebot*, stellenanzeige*, stellenmarkt*, "
        "vacancies, vacancy, job offer*, hiring, we are hiring, bewerbung*, application letter*, lebenslauf*, "
        "resume*, cv, job fair*, jobmesse*, recruit*, headhunter*, ofertas de empleo, offres d'emploi"
    ),
    "Careers > Remote Working": (
        "remote work*, remote job*, homeoffice*, home office, telearbeit*, mobiles arbeiten, teletrabajo, "
        "teletravail, work from home, wfh"
    ),
    "Careers > Vocational Training": (
        "vocational training, weiterbildung*, fortbildung*, berufsausbildung*, umschulung*, berufsschule*, "
        "formation professionnelle, formacion profesional"
    ),
    # --- Communication ----------------------------------------------------------------------------------
    "Communication": (
        "communication*, kommunikation*, comunicacion*, comunicazione, messaging, newsletter marketing, "
        "public relations, pr-agentur*"
    ),
    # --- Crime ------------------------------------------------------------------------------------------
    "Crime": (
        "crime*, criminal*, kriminal*, *kriminalitat, verbrechen, verbrecher*, straftat*, straftater*, "
        "police, polizei*, *polizei, polizist*, cop, cops, sheriff*, arrest*, arrested, verhaftet*, "
        "verhaftung*, festgenommen, festnahme*, murder*, murdered, mord, morde, morder*, mordes, ermordet*, "
        "homicide*, stabbing*, stabbed, erstochen, messerangriff*, messerattacke*, robbery, robberies, "
        "robbed, raub, raububerfall*, uberfall*, theft*, diebstahl*, dieb, diebe, stolen, gestohlen, "
        "burglar*, einbruch*, einbrecher*, break-in*, fraud*, betrug*, betruger*, scam*, scammer*, money "
        "laundering, geldwasche*, laundering, corruption, korruption*, corrupcion, corrupcao, corruzione, "
        "bribe*, bestechung*, drug trafficking, drogenhandel*, trafficking, cartel*, mafia, gang, gangs, "
        "gangster*, prison*, gefangnis*, haftstrafe*, jail*, jailed, inmate*, sentenced, verurteil*, "
        "condena*, condenado*, prosecutor*, staatsanwalt*, indict*, anklage*, angeklagt*, charged with, "
        "pleaded guilty, pleads guilty, guilty plea, suspect*, verdachtig*, tatverdachtig*, victim*, crime "
        "scene*, delito*, delincuen*, robo, robos, robados, asesinato*, asesin*, homicidio*, policia*, "
        "carabineros, crimine, polizia, omicidio*, meurtre*, arrestation*, gendarmerie, przestep*, policj*, "
        "zabojstw*, morderstw*, lka, fbi, interpol, ermittlung*, ermittler*, investigator*, kidnap*, "
        "entfuhrung*, hostage*, geisel*, assault*, abuse, missbrauch*, cybercrime*, cyberkriminal*, death "
        "threat*, morddrohung*, hate crime*, furto*, roubo*, ladrao, ladroes, policial*, 警方, 逮捕, 犯罪, 抢劫, 谋杀, "
        "嫌疑人"
    ),
    # --- Disasters --------------------------------------------------------------------------------------
    "Disasters": (
        "disaster*, katastroph*, *katastrophe, catastrophe*, catastrofe*, earthquake*, erdbeben*, terremoto*, "
        "seisme*, flood*, flooding, hochwasser*, uberschwemmung*, inundacion*, hurricane*, hurrikan*, "
        "typhoon*, taifun*, cyclone*, tornado*, wildfire*, waldbrand*, bushfire*, forest fire*, incendio "
        "forestal, tsunami*, volcano*, vulkan*, eruption*, landslide*, erdrutsch*, mudslide*, avalanche*, "
        "lawine*, drought*, durre*, famine*, hungersnot*, explosion*, plane crash*, flugzeugabsturz*, "
        "shipwreck*, zugungluck*, train crash*, humanitarian, humanitar*, relief effort*, "
        "katastrophenschutz*, disaster relief, emergency aid, nothilfe*, evacuat*, evakuier*, 地震, 洪水"
    ),
    # --- Education --------------------------------------------------------------------------------------
    "Education": (
        "education*, educational, bildung, bildungs*, *bildung, ausbildung, school, schools, schule*, "
        "*schule, schuler*, schulerin*, pupil*, teacher*, lehrer*, lehrerin*, lehrkraft*, lehrkrafte, "
        "student*, studierende*, studenten, studentin*, university, universities, universitat*, uni, "
        "hochschule*, college, colleges, campus, professor*, lecturer*, dozent*, academic*, akadem*, "
        "semester, exam, exams, examen*, prufung*, abitur*, matura*, kindergarten*, kita, kitas, preschool*, "
        "curriculum, lehrplan*, unterricht*, classroom*, klassenzimmer*, lernen, learning, e-learning, "
        "escuela*, escolar*, colegio*, universidad*, estudiante*, educacion*, educativ*, docente*, maestro*, "
        "ecole*, universite*, enseignant*, enseignement*, etudiant*, eleves, lycee*, college*, scuola*, "
        "universita*, studenti, studente, istruzione, insegnant*, escola*, universidade*, ensino*, educacao, "
        "professores, alunos, szkol*, uczni*, uczen, nauczyciel*, studenci, uniwersytet*, edukacj*, "
        "onderwijs*, leerling*, leraar*, leraren, scholarship*, stipendi*, faculty, fakultat*, 教育, 学校, 大学, 学生"
    ),
    "Education > Adult Education": (
        "adult education, erwachsenenbildung*, volkshochschule*, vhs, lifelong learning, lebenslanges lernen"
    ),
    "Education > College Education": (
        "higher education, hochschulbildung, academia, academics, researcher*, postdoc*, phd, doktorand*, "
        "promotion, habilitation*, bachelor, master's, masterstudium*, undergraduate*, graduate school, "
        "tuition fee*, studiengebuhr*, hochschulpolitik*, enseignement superieur, universitaire*, peer "
        "review*, call for papers"
    ),
    "Education > Early Childhood Education": (
        "early childhood, fruhkindlich*, kindertagesstatte*, daycare, kinderbetreuung*, fruhforderung*"
    ),
    "Education > Educational Assessment": (
        "standardized test*, assessment*, bildungsstudie*, leistungstest*, vergleichsarbeit*, pisa-studie*"
    ),
    "Education > Homeschooling": "homeschool*, hausunterricht*, home education",
    "Education > Homework and Study": "homework, hausaufgabe*, study tips, lerntipp*, nachhilfe*, tutoring",
    "Education > Language Learning": (
        "language learning, sprachkurs*, sprache lernen, learn english, deutsch lernen, englisch lernen, "
        "vocabulary, vokabel*, grammar, grammatik*"
    ),
    "Education > Online Education": (
        "online course*, onlinekurs*, mooc*, webinar*, online learning, distance learning, fernstudium*, fernunterricht"
    ),
    "Education > Primary Education": (
        "primary school*, grundschule*, volksschule*, elementary school*, primaria, ecole primaire"
    ),
    "Education > Private School": (
        "private school*, privatschule*, waldorfschule*, montessori school*, internat*, boarding school*"
    ),
    "Education > Secondary Education": (
        "secondary school*, high school*, gymnasium, gymnasien, realschule*, gesamtschule*, oberstufe*, "
        "secundaria, lycee"
    ),
    "Education > Special Education": "special education, sonderpadagog*, forderschule*, inklusion*",
    # --- Entertainment ----------------------------------------------------------------------------------
    "Entertainment": (
        "entertainment, unterhaltung*, showbiz, showbusiness, divertissement, entretenimiento, "
        "intrattenimento, rozrywk*, celebrity news, kultur, culture, cultura, kulturell*, 娱乐"
    ),
    "Entertainment > Movies": (
        "movie*, film, films, *film, filme, filmen, kino*, cinema*, cine, box office, hollywood, trailer*, "
        "actor*, actress*, schauspieler*, schauspielerin*, regisseur*, regisseurin*, filmmaker*, director's, "
        "oscar*, academy award*, golden globe*, premiere*, blockbuster*, kinostart*, filmfestival*, "
        "berlinale, cannes, venice film festival, sequel*, pelicula*, peliculas, film festival*, "
        "marchenfilm*, kultfilm*, 电影"
    ),
    "Entertainment > Music": (
        "music*, musik*, *musik, musique, musica, muzyk*, muziek, song, songs, songtext*, lyrics, album, "
        "albums, band, bands, singer*, sanger*, sangerin*, saenger*, rapper*, rap, hip hop, hip-hop, punk, "
        "metal, jazz, blues, country music, pop music, popmusik, concert*, konzert*, tour dates, tourdaten, "
        "festival lineup, spotify, vinyl, record label*, plattenlabel*, dj, djs, playlist*, musician*, "
        "musiker*, musikerin*, guitarist*, gitarrist*, drummer*, orchestra*, orchester*, symphon*, sinfoni*, "
        "choir*, chor, radio station*, radio show*, live music, livemusik, 音乐"
    ),
    "Entertainment > Television": (
        "television, tv, fernseh*, tv-serie*, tv series, series, serie, serien, staffel*, episode*, sitcom*, "
        "talk show*, talkshow*, reality tv, reality show*, netflix, hbo, amazon prime video, disney+, "
        "streaming series, streamingdienst*, bbc one, broadcaster*, rundfunk*, fernsehsender*, sendung*, "
        "moderator*, moderatorin*, doku, dokumentation*, documentary, documentaries, mediathek*, anime, "
        "cartoon*, zeichentrick*, 电视剧"
    ),
    # --- Events -----------------------------------------------------------------------------------------
    "Events": "event, events, veranstaltung*, *veranstaltung, evento*, evenement*, wydarzen*, festival*, *festival",
    "Events > Awards Shows": (
        "awards show*, award show*, awards ceremony, preisverleihung*, red carpet, grammy*, emmy*, brit awards"
    ),
    "Events > Business Expos & Conferences": (
        "conference*, konferenz*, *konferenz, kongress*, tagung*, *tagung, jahrestagung*, fachtagung*, "
        "symposium*, expo, trade fair*, trade show*, fachmesse*, summit*, congres*, congreso*, convegno*, "
        "barcamp*, meetup*, keynote*"
    ),
    "Events > Fan Conventions": "fan convention*, comic-con, comic con, comiccon, cosplay*, gamescom, fan meeting*",
    # --- Family and Relationships -----------------------------------------------------------------------
    "Family and Relationships": (
        "family, families, familie*, *familie, famille*, familia*, famiglia*, rodzin*, gezin*, relationship*, "
        "beziehung*, partnerschaft*, liebe, love life, liebesleben, liebesgluck*, couple*, paare, mother*, "
        "mutter, mutti, mama, mom, moms, mum, mums, father*, vater, papa, dad, dads, daughter*, tochter, "
        "sohn, sohne, grandparent*, grosseltern*, oma, opa"
    ),
    "Family and Relationships > Bereavement": (
        "bereavement, grief, grieving, trauer*, trauerbegleitung*, loss of a child, sternenkind*"
    ),
    "Family and Relationships > Dating": (
        "dating, online dating, partnersuche*, datingportal*, flirt*, first date, tinder, dating app*, kennenlernen"
    ),
    "Family and Relationships > Divorce": (
        "divorce*, scheidung*, getrennt lebend*, sorgerecht*, unterhalt*, divorcio*, divorzio"
    ),
    "Family and Relationships > Eldercare": (
        "eldercare, elder care, altenpflege*, seniorenheim*, pflegeheim*, pflegebedurft*, pflegende "
        "angehorige*, pflegeversicherung*, nursing home*, care home*"
    ),
    "Family and Relationships > Marriage and Civil Unions": (
        "marriage*, ehe, ehepaar*, ehemann*, ehefrau*, married, husband*, wife, wives, matrimonio*, mariage*, "
        "civil union*"
    ),
    "Family and Relationships > Parenting": (
        "parent, parents, parenting, eltern*, erziehung*, baby, babys, babies, kleinkind*, toddler*, child, "
        "children, kinder, kindern, kindes, kids, kid, teenager*, jugendliche*, teen, teens, schwanger*, "
        "schwangerschaft*, pregnan*, geburt*, stillen, breastfeed*, elternzeit*, elterngeld*, kindergeld*, "
        "mutterschaft*, vaterschaft*, hijos, ninos, bambini, enfants, criancas, dzieci, kinderwunsch*, "
        "familie und beruf"
    ),
    "Family and Relationships > Single Life": "single life, singles, single-dasein, alleinstehend*",
    # --- Fine Art ---------------------------------------------------------------------------------------
    "Fine Art": (
        "art, arts, artist*, kunstler*, kunstlerin*, kunst, *kunst, kunstwerk*, kunstmuseum*, kunsthalle*, "
        "painting*, painter*, gemalde*, maler, malerin, malerei*, sculpture*, skulptur*, bildhauer*, "
        "artwork*, masterpiece*, meisterwerk*, biennale*, art fair*, kunstmesse*, contemporary art, "
        "zeitgenossische kunst, peinture*, pintura*, pittura*, arte, artiste*, artista*, artisti, sztuk*, "
        "moma, tate, uffizi, rijksmuseum, prado, rembrandt, picasso, van gogh, monet, art collector*, "
        "kunstsammler*, auction house*, christie's, sotheby's, kunstauktion*, 艺术"
    ),
    "Fine Art > Costume": "costume*, kostum*, costume design*, kostumbild*",
    "Fine Art > Dance": (
        "dance, dancer*, dancing, tanz*, tanzer*, tanzerin*, ballet*, ballett*, choreograph*, danse, danza"
    ),
    "Fine Art > Design": (
        "design, designs, *design, designer*, designerin*, architecture, architectural, architektur*, "
        "architect*, architekt*, architettura, arquitectura, architectuur, graphic design, grafikdesign*, "
        "typograf*, typography, industrial design, produktdesign*, bauhaus, neubau*, facade*, fassade*, "
        "webdesign*, corporate design, gestaltung*, kommunikationsdesign*"
    ),
    "Fine Art > Digital Arts": (
        "digital art*, digitale kunst, generative art, nft art, media art*, medienkunst*, new media art"
    ),
    "Fine Art > Fine Art Photography": (
        "photography, fotografie*, photographer*, fotograf*, fotografin*, photographie, fotografia, photo "
        "exhibition*, fotoausstellung*"
    ),
    "Fine Art > Modern Art": (
        "modern art, moderne kunst, avant-garde, avantgarde, expressionis*, surrealis*, abstract art, "
        "abstrakte kunst, pop art"
    ),
    "Fine Art > Opera": "opera, opern*, oper, operas, opera singer*, sopran*, tenor*, libretto*, staatsoper*",
    "Fine Art > Theater": (
        "theater, theatre, theatres, theatre's, *theater, theatre*, teatro, teatr*, buhne*, schauspiel, "
        "inszenierung*, premiere, stage play*, playwright*, dramatiker*, musical*, broadway, west end, "
        "kabarettbuhne*"
    ),
    # --- Food & Drink -----------------------------------------------------------------------------------
    "Food & Drink": (
        "food, foods, foodie*, lebensmittel*, nahrungsmittel*, recipe*, rezept, rezepte, *rezept, receita*, "
        "receta*, ricetta*, ricette, recette*, recept*, przepis na, cooking, cook, kochen, koche, "
        "kochrezept*, kochbuch*, cuisine, kuche, cocina, cucina, kuchnia, gastronom*, kulinarik*, culinary, "
        "kulinarisch*, kuliner*, meal, meals, mahlzeit*, dinner, lunch, breakfast, fruhstuck*, brunch, "
        "snack*, dish, dishes, gericht, gerichte, zutaten, ingredients, ingredientes, ingredienti, gewurz*, "
        "spices, delicious, lecker*, schmeckt, geschmack*, taste, tasty, sabor*, delicios*, fruit, fruits, "
        "obst, frucht*, fruchte, vegetable*, gemuse*, banana*, banane*, bananen, lemon*, apfel*, tomato*, "
        "tomate*, chocolate*, schokolade*, chocolat*, coffee, kaffee*, espresso, tea, tees, juice, saft, "
        "safte, dulces, dolci, comida*, nourriture, jedzenie, eten, 美食, 食品"
    ),
    "Food & Drink > Alcoholic Beverages": (
        "wine, wines, wein, weine, weingut*, weinbau*, winzer*, winery, wineries, vineyard*, weinberg*, vin, "
        "vins, vino, vinos, vini, vinho*, wino, sommelier*, rose wine, rosewein*, rotwein*, weisswein*, red "
        "wine, white wine, sekt, champagne*, champagner, prosecco, riesling, chardonnay, merlot, pinot*, "
        "cabernet*, sauvignon*, grauburgunder, blaufrankisch, beer, beers, bier, biere, brauerei*, brewery, "
        "breweries, craft beer*, ale, lager, whisky*, whiskey*, gin, vodka, wodka, rum, cocktail*, liquor*, "
        "spirits, spirituosen*, schnaps*, cerveza*, birra, piwo, alkohol*, alcohol*"
    ),
    "Food & Drink > Barbecues and Grilling": (
        "barbecue*, bbq, grill, grillen, grilled, grilling, grillrezept*, smoker, asado*"
    ),
    "Food & Drink > Cooking": (
        "cooking, kochen, kochkurs*, kochtipp*, koch, chefkoch*, hauptgericht*, main course, side dish*, "
        "beilage*, soup*, suppe*, sauce*, sosse*, salad*, salat*, pasta, nudel*, pizza*, curry*, masala, "
        "schmoren, braten, roast*, eintopf*, auflauf*, abendessen, mittagessen, receitas, recetas"
    ),
    "Food & Drink > Desserts and Baking": (
        "dessert*, nachtisch*, cake, cakes, kuchen, *kuchen, torte*, *torte, bake, baked, baking, backen, "
        "gebacken*, gebaeck*, geback*, backrezept*, cookies recipe, biscuit*, keks*, platzchen*, muffin*, "
        "cupcake*, brownie*, pie, tart, tarte*, tarta*, gateau*, patisserie*, pastry, pastries, konditor*, "
        "teig, dough, sourdough, sauerteig*, brot, brote, bread, galleta*, pastel*, dolce, dolci, ciasto*, "
        "ciasta, blechkuchen*, zuckerguss, glasur*, vanille*, zimt*"
    ),
    "Food & Drink > Dining Out": (
        "restaurant*, *restaurant, ristorante*, trattoria*, bistro*, brasserie*, cafe, cafes, gasthaus*, "
        "gasthof*, wirtshaus*, michelin, gault millau, fine dining, dining out, essen gehen, "
        "restaurantkritik*, restaurant review*, food truck*, street food"
    ),
    "Food & Drink > Food Allergies": (
        "food allerg*, lebensmittelallergie*, gluten-free, glutenfrei*, lactose-free, laktosefrei*, celiac, "
        "zoliakie*, nut allergy"
    ),
    "Food & Drink > Food Movements": (
        "organic food, bio-lebensmittel*, slow food, local food, regional produce, fair trade, fairtrade, "
        "zero waste kitchen"
    ),
    "Food & Drink > Healthy Cooking and Eating": (
        "healthy recipe*, gesunde rezepte, healthy eating, gesund essen, clean eating, low carb, low-carb, superfood*"
    ),
    "Food & Drink > Non-Alcoholic Beverages": (
        "smoothie*, lemonade, limonade*, soft drink*, alkoholfrei*, non-alcoholic, mineral water, "
        "mineralwasser*, kombucha"
    ),
    "Food & Drink > Vegan Diets": "vegan*, plant-based, pflanzlich*",
    "Food & Drink > Vegetarian Diets": "vegetarian*, vegetarisch*, veggie*, vegetariano*, vegetarien*",
    "Food & Drink > World Cuisines": (
        "indian recipe*, indian food, italian food, mexican food, thai food, asian food, chinese food, "
        "japanese food, sushi, ramen, tapas, paella, tacos, curry, dal, paneer, biryani, tandoori, kimchi, "
        "dim sum, mezze, hummus, falafel, world cuisine*, internationale kuche, landerkuche*"
    ),
    # --- Healthy Living ---------------------------------------------------------------------------------
    "Healthy Living": (
        "healthy, healthy living, gesund, gesunde, gesunden, gesunder, gesundes, healthier, wellbeing, "
        "well-being, wohlbefinden*, lifestyle, self-care, selfcare, vida sana, saludable*, fitness, wellness"
    ),
    "Healthy Living > Children's Health": "children's health, kindergesundheit*, kinderarzt*, pediatric*, padiatri*",
    "Healthy Living > Fitness and Exercise": (
        "fitness, workout*, training plan*, trainingsplan*, exercise*, ubung*, gym, gyms, fitnessstudio*, "
        "yoga, pilates, hiit, crossfit, jogging, muskel*, muscle*, bauchmuskel*, cardio, stretching, "
        "dehnung*, personal trainer*"
    ),
    "Healthy Living > Men's Health": "men's health, mannergesundheit*, testosteron*, prostat*",
    "Healthy Living > Nutrition": (
        "nutrition*, ernahrung*, *ernahrung, diet, diets, diat*, *diat, calorie*, kalorie*, protein*, "
        "vitamin*, mineralstoff*, nahrstoff*, nutrient*, ernahrungsplan*, nutricion, alimentacion, "
        "nutrizione, eating habits, essverhalten"
    ),
    "Healthy Living > Senior Health": "senior health, seniorengesundheit*, healthy aging, gesund altern",
    "Healthy Living > Weight Loss": (
        "weight loss, lose weight, abnehmen, gewichtsverlust*, ubergewicht*, fat loss, fettverbrennung*, "
        "bauchfett*, adelgazar, perdre du poids"
    ),
    "Healthy Living > Wellness": (
        "wellness, spa, spas, therme*, *therme, thermalbad*, sauna*, massage*, meditation*, mindfulness, "
        "achtsamkeit*, entspannung*, relaxation, stressabbau*, holistic, ganzheitlich*, alternative medicine, "
        "naturheilkunde*, homoopathie*, heilpraktiker*, herbal*, krauter*, supplement*, nahrungserganzung*, "
        "physiotherap*, smoking cessation, rauchstopp*"
    ),
    "Healthy Living > Women's Health": (
        "women's health, frauengesundheit*, menstruation*, periode*, zyklus*, menopause*, wechseljahre*, "
        "pcos, endometriose*, gynakolog*"
    ),
    # --- Hobbies & Interests ----------------------------------------------------------------------------
    "Hobbies & Interests": "hobby, hobbies, hobbys, freizeit*, leisure, pastime*",
    "Hobbies & Interests > Antiquing and Antiques": (
        "antique*, antik*, antiquitat*, flohmarkt*, flea market*, trodel*"
    ),
    "Hobbies & Interests > Arts and Crafts": (
        "crafts, craft, basteln, bastel*, diy craft*, handarbeit*, knitting, stricken, sewing, nahen, "
        "nahanleitung*, crochet*, hakeln, woodworking, drechseln, scrapbook*, bead*, perlen, candle making, "
        "seifen*, drawing, zeichnen, skizze*"
    ),
    "Hobbies & Interests > Beekeeping": "beekeep*, imker*, imkerei*, honeybee*, honigbiene*, bienenvolk*",
    "Hobbies & Interests > Birdwatching": (
        "birdwatch*, bird watching, birding, vogelbeobachtung*, ornitholog*, bird-watch*, birder*, vogelkund*"
    ),
    "Hobbies & Interests > Cigars": "cigar*, zigarre*, humidor*",
    "Hobbies & Interests > Collecting": (
        "collecting, collector*, sammeln, sammler*, sammlung*, collectible*, sammlerstuck*, stamps, "
        "briefmarke*, coins, munzen, numismati*, trading cards, sammelkarte*, vintage toys, nostalgi*, retro, "
        "80er, 90er"
    ),
    "Hobbies & Interests > Content Production": (
        "content creator*, content creation, youtuber*, blogger*, bloggen, blogging, influencer marketing, "
        "vlog*, video production, videoproduktion*, podcasting, podcaster*, screenwriting, drehbuch*, "
        "freelance writing, copywriting, texter*, wordpress, blogpost*"
    ),
    "Hobbies & Interests > Games and Puzzles": (
        "board game*, brettspiel*, gesellschaftsspiel*, card game*, kartenspiel*, chess, schach*, puzzle*, "
        "ratsel*, sudoku, crossword*, kreuzwortratsel*, tabletop, dungeons & dragons, roleplaying game*, pen "
        "and paper"
    ),
    "Hobbies & Interests > Genealogy and Ancestry": (
        "genealog*, ahnenforschung*, family tree*, stammbaum*, ancestry, vorfahren*"
    ),
    "Hobbies & Interests > Magic and Illusion": (
        "magician*, zauberer*, zauberkunst*, zaubertrick*, illusionist*, card trick*"
    ),
    "Hobbies & Interests > Model Toys": (
        "model railway*, model train*, modelleisenbahn*, modellbahn*, modellbau*, scale model*, lego technic"
    ),
    "Hobbies & Interests > Musical Instruments": (
        "musical instrument*, musikinstrument*, guitar*, gitarre*, piano*, klavier*, drums, schlagzeug*, "
        "violin*, geige*, synthesizer*, saxophon*, trompete*"
    ),
    "Hobbies & Interests > Paranormal Phenomena": (
        "paranormal*, ghost*, geister*, spuk*, ufo*, conspiracy, verschworung*"
    ),
    "Hobbies & Interests > Radio Control": "radio control*, rc car*, rc-car*, ferngesteuert*, modellflug*, fpv",
    "Hobbies & Interests > Sci-fi and Fantasy": (
        "sci-fi, science fiction, science-fiction, fantasy, star wars, star trek, tolkien, herr der ringe, "
        "lord of the rings, doctor who"
    ),
    "Hobbies & Interests > Workshops and Classes": "workshop*, masterclass*, seminar*",
    # --- Holidays ---------------------------------------------------------------------------------------
    "Holidays": (
        "public holiday*, bank holiday*, feiertag*, christmas, xmas, weihnacht*, easter, ostern, halloween, "
        "thanksgiving, new year's eve, silvester*, fireworks, feuerwerk*, navidad, natale, noel, pascua, "
        "pasqua, valentine*, valentinstag*, mother's day, muttertag*, father's day, vatertag*, diwali, "
        "hanukkah, chanukka, 春节, 节日, advent, adventszeit, adventskalender*"
    ),
    "Holidays > National & Civic Holidays": (
        "independence day, national day, nationalfeiertag*, tag der deutschen einheit, bastille day, fourth "
        "of july, labour day, tag der arbeit"
    ),
    # --- Home & Garden ----------------------------------------------------------------------------------
    "Home & Garden": (
        "home and garden, haus und garten, wohnen, zuhause, eigenheim*, hausbau*, homeowner*, hausbesitzer*, "
        "hausbesitzerin*, hauseigentumer*, household*, hogar, maison, casa e giardino, wonen"
    ),
    "Home & Garden > Gardening": (
        "garden, gardens, gardening, gardener*, garten, gartens, garten*, gartner*, gartnerin*, gartnerei*, "
        "gartenpflanze*, gartenarbeit*, tuin, tuinen, jardin*, jardineria, giardin*, ogrod*, pflanze*, "
        "*pflanze, pflanzen, pflanzt*, bepflanz*, flower*, blume*, *blume, bluhen, bluht, blute*, seeds, "
        "saatgut, samen, seedling*, seed starting, germinat*, keimen, keimung*, soil, compost*, kompost*, "
        "lawn*, rasen*, hedge*, hecke*, shrub*, strauch*, straucher, fruit tree*, obstbaum*, houseplant*, "
        "zimmerpflanze*, potted, kubelpflanze*, hochbeet*, raised bed*, gemusegarten*, vegetable garden*, "
        "grow your own, pruning, beschneid*, giessen, water the plants, weed*, unkraut*, rose bush*, rosen, "
        "tulip*, tulpe*, orchid*, orchidee*, kakteen, cactus, cacti, succulent*, sukkulent*, schrebergarten*, "
        "vorgarten*, kleingarten*, hausgarten*, obstgarten*, steingarten*"
    ),
    "Home & Garden > Home Appliances": (
        "home appliance*, haushaltsgerat*, washing machine*, waschmaschine*, dishwasher*, spulmaschine*, "
        "refrigerator*, kuhlschrank*, vacuum cleaner*, staubsauger*, saugroboter*, air fryer*, "
        "heissluftfritteuse*, kaffeemaschine*, coffee maker*"
    ),
    "Home & Garden > Home Entertaining": (
        "dinner party, hosting guests, gaste bewirten, tischdeko*, table setting*, party ideas"
    ),
    "Home & Garden > Home Improvement": (
        "home improvement, diy, do it yourself, heimwerk*, renovier*, renovation*, sanierung*, modernisier*, "
        "tapezier*, streichen, fliesen*, bodenbelag*, laminat*, parkett*, heizung*, heating, heizung, kamin*, "
        "fireplace*, ofen, pelletheizung*, insulation, dammung*, warmepumpe*, heat pump*, baumarkt*, "
        "werkzeug*, bohrmaschine*, dachrinne*, basement*"
    ),
    "Home & Garden > Home Security": (
        "home security, einbruchschutz*, alarmanlage*, alarm system*, security camera*, uberwachungskamera*, "
        "smoke detector*, rauchmelder*"
    ),
    "Home & Garden > Indoor Environmental Quality": (
        "indoor air, raumluft*, luftreiniger*, air purifier*, mold, schimmel*, humidity, luftfeuchtigkeit*, radon"
    ),
    "Home & Garden > Interior Decorating": (
        "interior design*, interior decor*, inneneinrichtung*, einrichtungsidee*, einrichten, decor, deko*, "
        "dekoration*, furniture, mobel*, sofa*, couch, wohnzimmer*, schlafzimmer*, living room*, bedroom*, "
        "kitchen design, kuchenplanung*, bathroom*, badezimmer*, lamp*, lampe*, teppich*, curtains, vorhang*, "
        "wohnideen, wohnstil*, rugs"
    ),
    "Home & Garden > Landscaping": (
        "landscaping, landscape design*, garden design*, gartenbau*, gartengestaltung*, landschaftsbau*, "
        "landschaftsgartner*, galabau, gardener service*, terrasse*, pflaster*, gartenteich*"
    ),
    "Home & Garden > Outdoor Decorating": (
        "outdoor decor*, gartendeko*, balkon*, balcony, patio*, gartenmobel*, garden furniture"
    ),
    "Home & Garden > Remodeling & Construction": (
        "remodel*, umbau*, anbau*, building a house, hausbau*, bauherr*, bauherren, baustelle*, construction "
        "site*, bauen, baugenehmigung*, architektenhaus*, fertighaus*, rohbau*, roofing, dach, dacher, "
        "dachdeck*, maurer*, bauunternehm*, construction*, bauprojekt*"
    ),
    "Home & Garden > Smart Home": (
        "smart home, smarthome, home automation, hausautomation*, thermostat*, smart thermostat*, nest, "
        "alexa, smart speaker*"
    ),
    # --- Law --------------------------------------------------------------------------------------------
    "Law": (
        "law, laws, legal, legally, lawyer*, attorney*, anwalt*, anwaltin, anwalte*, rechtsanwalt*, "
        "rechtsanwaltin*, fachanwalt*, kanzlei*, court, courts, gericht*, *gericht, gerichts*, urteil*, "
        "rechtsprechung*, richter*, richterin*, judge*, tribunal*, lawsuit*, klage*, verklagt*, sued, suing, "
        "litigation, rechtsstreit*, *recht, rechtlich*, gesetz, gesetze, gesetzes, *gesetz, gesetzlich*, "
        "gesetzgeb*, jurist*, juristisch*, cease and desist, unterlassung*, contract*, vertrag*, vertrage, "
        "vertragsrecht*, license*, licence*, lizenz*, *lizenz, lizenzen, copyright*, urheberrecht*, "
        "trademark*, markenrecht*, patent*, gdpr, dsgvo, mietrecht*, strafrecht*, verfassung*, constitution*, "
        "constitutional, grundgesetz*, supreme court, bundesgerichtshof, bgh, eugh, bverfg, legislation, "
        "regulation*, verordnung*, richtlinie*, justice, justiz*, justicia, giustizia, justica, abogad*, "
        "avocat*, avvocat*, advogad*, juez, jueza, juge, prawo, prawny*, prawnik*, rechter*, advocaat*, "
        "haftung*, liability, berufung*, 法律, 律师, 法院, appeals court, court of appeals, rechtsanwaltskammer"
    ),
    # --- Medical Health ---------------------------------------------------------------------------------
    "Medical Health": (
        "medical, medicine, medizin*, *medizin, medizinisch*, medecine, medicina, medycyn*, health care, "
        "healthcare, gesundheitswesen*, gesundheitssystem*, gesundheit, health, health news, doctor, doctors, "
        "physician*, arzt, arzte*, arztin*, medico*, medecin*, lekarz*, patient, patients, patienten, "
        "patientin*, hospital*, krankenhaus*, krankenhauser, klinik*, *klinik, clinic*, clinical, klinisch*, "
        "nurse*, nursing, pflegekraft*, pflegekrafte, krankenpfleg*, disease*, krankheit*, *krankheit, "
        "*krankheiten, illness*, sickness, symptom*, diagnos*, therapy, therapies, therap*, *therapie, "
        "treatment*, behandlung*, heilung*, covid*, corona*, coronavirus*, sars-cov-2, pandemi*, epidemi*, "
        "*epidemie, virus, viren, infection*, infektion*, infiziert*, vaccin*, impf*, impfung*, vacuna*, "
        "vaccino, szczepion*, paracetamol, aspirin, medication*, medikament*, arzneimittel*, pharma*, "
        "apothek*, pharmacy, pharmacie, farmacia, sante, salud, saude, zdrowi*, gezondheid*, health "
        "minister*, gesundheitsminister*, ministro de salud, 医疗, 医院, 医生"
    ),
    "Medical Health > Cosmetic Medical Services": (
        "cosmetic surgery, plastic surgery, schonheits-op*, schonheitschirurg*, botox, lip filler*, "
        "facelift*, liposuction"
    ),
    "Medical Health > Diseases and Conditions": (
        "cancer*, krebs*, *krebs, tumor*, tumour*, onkolog*, oncolog*, chemotherap*, diabetes, diabetic*, "
        "heart disease*, herzkrankheit*, heart attack*, herzinfarkt*, schlaganfall*, alzheimer*, dementia, "
        "demenz*, parkinson*, asthma, allerg*, allergie*, arthrit*, arthrose*, rheuma*, depression*, "
        "depressiv*, anxiety, angststorung*, mental health, psychisch*, psychiatr*, eating disorder*, "
        "essstorung*, bulimi*, anorexi*, adhs, adhd, autism*, autismus*, migraine*, migrane*, flu, grippe*, "
        "influenza*, cold and flu, erkaltung*, hypertension, bluthochdruck*, blood pressure, blutdruck*, "
        "thyroid*, schilddruse*, obesity, adipositas*, fatigue, chronic*, chronisch*, atemnot*, lung*, "
        "lunge*, pneumonia, lungenentzund*, infection, kidney*, niere*, leber*, insomnia, schlafstorung*, "
        "disorder, disorders, liver, stroke patient*, lunge"
    ),
    "Medical Health > Medical Tests": (
        "blood test*, bluttest*, blutbild*, screening*, mri, mrt, ct scan*, x-ray*, rontgen*, ultraschall*, "
        "ultrasound*, corona test*, pcr, schnelltest*, antigen test*"
    ),
    "Medical Health > Pharmaceutical Drugs": (
        "pharmaceutical*, prescription drug*, verschreibungspflichtig*, drug approval, zulassung eines "
        "medikaments, fda approval, generika*, antibiotic*, antibiotik*, painkiller*, schmerzmittel*, opioid "
        "painkiller*"
    ),
    "Medical Health > Surgery": "surgery, surgeries, surgeon*, chirurg*, operiert*, transplant*, implant*",
    "Medical Health > Vaccines": (
        "vaccine*, vaccination*, impfstoff*, impfung*, impfpflicht*, booster*, vacunacion, vaccinazione"
    ),
    # --- Personal Celebrations & Life Events ------------------------------------------------------------
    "Personal Celebrations & Life Events": "celebration*, feier, feiern, life event*, lebensereignis*",
    "Personal Celebrations & Life Events > Anniversary": (
        "anniversary, anniversaries, jahrestag*, hochzeitstag*, jubilaum*, *jubilaum, aniversario*, anniversaire*"
    ),
    "Personal Celebrations & Life Events > Baby Shower": "baby shower*, babyparty*, gender reveal*",
    "Personal Celebrations & Life Events > Bachelor Party": "bachelor party, stag do, junggesellenabschied*",
    "Personal Celebrations & Life Events > Bachelorette Party": "bachelorette party, hen party, hen do",
    "Personal Celebrations & Life Events > Birth": (
        "birth, births, newborn*, neugeboren*, geburt, entbindung*, kreisssaal*, kreissaal*, hebamme*, "
        "midwife*, birth announcement*, babyglück"
    ),
    "Personal Celebrations & Life Events > Birthday": (
        "birthday*, geburtstag*, *geburtstag, cumpleanos, compleanno, anniversaire, urodziny, verjaardag*"
    ),
    "Personal Celebrations & Life Events > Funeral": (
        "funeral*, beerdigung*, bestattung*, begrabnis*, obituar*, nachruf*, traueranzeige*, todesanzeige*, "
        "trauerfeier*, funeral home*, bestatter*"
    ),
    "Personal Celebrations & Life Events > Graduation": (
        "graduation*, graduating, commencement, abschlussfeier*, abiball*, zeugnisubergabe*"
    ),
    "Personal Celebrations & Life Events > Prom": "prom, proms, abschlussball*, homecoming dance",
    "Personal Celebrations & Life Events > Wedding": (
        "wedding*, hochzeit*, *hochzeit, bride*, braut, brautkleid*, groom, brautigam*, boda, bodas, "
        "matrimonio, mariage, casamento*, slub*, bruiloft*, trauung*, heiraten, verlobung*, engagement ring*"
    ),
    # --- Personal Finance -------------------------------------------------------------------------------
    "Personal Finance": (
        "personal finance, money, geld, finances, finanzen, privatfinanz*, finanztipp*, finanzratgeber*, "
        "budget*, haushaltsbuch*, verbraucher*, consumer*, sparen, sparbuch*, savings, spartipp*, dinero, "
        "argent, soldi, dinheiro, pieniadze"
    ),
    "Personal Finance > Consumer Banking": (
        "bank account*, bankkonto*, girokonto*, konto, tagesgeld*, festgeld*, sparkasse*, volksbank*, online "
        "banking, onlinebanking, direktbank*, neobank*, debit card*, bankgebuhr*, overdraft*"
    ),
    "Personal Finance > Financial Assistance": (
        "welfare, sozialhilfe*, burgergeld*, hartz*, grundsicherung*, wohngeld*, bafog, student financial "
        "aid, student aid, beihilfe*, subsidy for families"
    ),
    "Personal Finance > Financial Planning": (
        "financial planning, finanzplanung*, financial advisor*, finanzberater*, vermogen*, vermogensaufbau*, "
        "wealth management, geldanlage*, anlagestrategie*, wealth*"
    ),
    "Personal Finance > Frugal Living": (
        "frugal*, sparsam*, geld sparen, save money, spartipps, minimalism*, minimalis*"
    ),
    "Personal Finance > Home Utilities": (
        "strompreis*, stromanbieter*, stromtarif*, gaspreis*, gasanbieter*, energy bill*, electricity bill*, "
        "nebenkosten*, utility bill*, dsl-tarif*, handytarif*, mobilfunkvertrag*, internet provider*"
    ),
    "Personal Finance > Insurance": (
        "insurance, insurer*, versicherung*, *versicherung, versicherer*, krankenversicherung*, "
        "lebensversicherung*, haftpflicht*, hausratversicherung*, seguro*, assurance*, assicurazion*, "
        "ubezpieczen*, verzekering*"
    ),
    "Personal Finance > Personal Debt": (
        "debt*, schulden*, verschuld*, credit card*, kreditkarte*, loan, loans, kredit, kredite, "
        "ratenkredit*, konsumkredit*, privatkredit*, mortgage*, hypothek*, baufinanzierung*, "
        "immobilienkredit*, student loan*, studienkredit*, prestamo*, credito*, prestito*, emprestimo*, "
        "pozyczk*, kredyt*, payday loan*, umschuldung*, schuldnerberatung*, dispokredit*"
    ),
    "Personal Finance > Personal Investing": (
        "investing, invest, investieren, anleger*, privatanleger*, etf, etfs, fonds, fund, funds, mutual "
        "fund*, hedge fund*, dividend*, dividende*, aktien kaufen, stock tips, broker*, trading, trader*, "
        "daytrading*, crypto*, krypto*, bitcoin*, ethereum, blockchain*, bonds, anleihe*, gold price, "
        "goldpreis*, options trading"
    ),
    "Personal Finance > Personal Taxes": (
        "tax, taxes, steuer, *steuer, steuererklarung*, steuerfrei*, steuerlich*, steuerzahler*, taxpayer*, "
        "tax return*, income tax, einkommensteuer*, abgeltungssteuer*, kirchensteuer*, finanzamt*, impuesto*, "
        "impots, impot, podatek*, podatk*, belasting*"
    ),
    "Personal Finance > Retirement Planning": (
        "retirement*, retire*, pension*, rente, renten*, *rente, rentner*, rentnerin*, ruhestand*, "
        "altersvorsorge*, retraite*, jubilacion*, pensione*, aposentadoria*, emerytur*, pensioen*, 401k, "
        "riester*"
    ),
    # --- Pets -------------------------------------------------------------------------------------------
    "Pets": (
        "pet, pets, haustier*, *haustier, tiere, tieren, tierisch*, tierheim*, tierschutz*, *tierschutz, "
        "tierschutzverein*, tierliebe*, animal shelter*, animal welfare, animal rescue, mascota*, animali "
        "domestici, animaux, huisdier*, zwierzet*, zwierzak*, tierhalter*, pet owner*"
    ),
    "Pets > Birds": (
        "birds, bird, vogel, vogel*, *vogel, parrot*, papagei*, budgie*, wellensittich*, canary, "
        "kanarienvogel*, vogelschutz*, greifvogel*"
    ),
    "Pets > Cats": (
        "cat, cats, katze, katzen, *katze, kater, kitten*, katzchen, gato, gatos, gatto, gatti, chaton*, "
        "koty, katten, cat owner*, feline*"
    ),
    "Pets > Dogs": (
        "dog, dogs, hund, hunde, hunden, hundes, *hund, welpe*, puppy, puppies, perro*, cani, chien*, hond, "
        "honden, canine*, hundehalter*, dog owner*, gassi*, hundeschule*, dog training"
    ),
    "Pets > Fish and Aquariums": "aquarium fish, aquaristik*, zierfisch*, goldfish*, goldfisch*",
    "Pets > Large Animals": (
        "horse, horses, pferd, pferde, pferden, pony, ponys, ponies, esel*, donkey*, alpaka*, goat*, ziege*, "
        "sheep, schafe*, cow, cows, kuh, kuhe, livestock, nutztier*"
    ),
    "Pets > Pet Adoptions": (
        "pet adoption*, adopt a pet, adoptieren, zuhause gesucht, forever home, rescue dog*, rescue cat*"
    ),
    "Pets > Pet Supplies": (
        "pet supplies, tierbedarf*, hundefutter*, katzenfutter*, dog food, cat food, pet food, futternapf*, "
        "katzenklo*, leine*, halsband*"
    ),
    "Pets > Reptiles": (
        "reptile*, reptil*, snake*, schlange*, turtle*, schildkrote*, lizard*, echse*, gecko*, terrarium*"
    ),
    "Pets > Veterinary Medicine": (
        "veterinar*, vet, vets, tierarzt*, tierarzt, tierarztin*, tierklinik*, veterinaire*, veterinario*, "
        "weterynar*, dierenarts*, tiermedizin*"
    ),
    # --- Politics ---------------------------------------------------------------------------------------
    "Politics": (
        "politic*, politik*, *politik, politisch*, politique*, politica*, politico*, polityk*, politiek*, "
        "politisk*, government*, regierung*, *regierung, bundesregierung*, landesregierung*, gouvernement*, "
        "gobierno*, governo*, rzad*, parliament*, parlament*, *parlament, bundestag*, bundesrat*, landtag*, "
        "nationalrat*, abgeordnete*, abgeordneten*, mdb, mep, meps, senat*, senate*, senator*, congress, "
        "congressman, congresswoman, congressional, lawmaker*, minister*, ministerin*, ministr*, ministry, "
        "ministries, ministerium*, *ministerium, ministere*, ministerio*, ministero*, chancellor*, kanzler*, "
        "bundeskanzler*, kanzleramt*, bundeskanzleramt*, president*, prasident*, presidente*, prezydent*, "
        "prime minister*, premierminister*, premier ministre, primer ministro, governor*, gouverneur*, "
        "gobernador*, mayor*, burgermeister*, oberburgermeister*, alcalde*, sindaco, maire, political party, "
        "partei*, *partei, parteien, partido*, partito, partia, fraktion*, *fraktion, cdu, csu, spd, fdp, "
        "afd, grunen, die grunen, bundnis 90, die linke, piratenpartei*, ovp, spo, fpo, svp, democrat*, "
        "republican*, gop, labour party, tories, tory, conservative party, trump, biden, obama, clinton, "
        "putin, macron, merkel, scholz, erdogan, xi jinping, sanders, pelosi, zelensky, selenskyj, nehammer, "
        "impeachment*, amtsenthebung*, election*, wahl, wahlen, wahlkampf*, wahler*, elecci*, election, "
        "elections, elezion*, wybor*, eleicao*, eleicoes, vote, votes, voting, voter*, ballot*, referendum*, "
        "volksabstimmung*, plebiscit*, policy, policies, democracy, demokrat*, democracia, democratie, "
        "democrazia, demokracj*, diplomat*, diplomac*, foreign policy, aussenpolitik*, sanction*, sanktion*, "
        "nato, european union, europaische union, european commission, eu-kommission*, europaparlament*, "
        "european parliament, parlamento europeo, parlament europejski, brexit*, united nations, vereinte "
        "nationen, onz, onu, opposition*, oposicion, koalition*, coalition*, kabinett*, cabinet, kommunist*, "
        "communist*, comunist*, socialis*, sozialis*, sozialdemokrat*, liberal*, conservative*, konservativ*, "
        "rechtsextrem*, far-right, far right, far-left, neue rechte, rechtspopulis*, populis*, linksextrem*, "
        "protest*, demonstration*, demonstrant*, activist*, aktivist*, human rights, menschenrecht*, derechos "
        "humanos, droits de l'homme, diritti umani, asyl*, asylum, refugee*, fluchtling*, gefluchtete*, "
        "migration*, migrant*, immigra*, deport*, abschiebung*, citizen*, burgerinnen, burgerrecht*, state "
        "department, white house, weisses haus, kremlin, kreml, downing street, elysee, bundesprasident*, "
        "landeshauptmann*, stadtrat*, gemeinderat*, city council*, county commission*, kommunalpolitik*, "
        "councilman, councilwoman, kommune*, senado, congreso, diputad*, ministra, assemblee nationale, "
        "depute*, senateur*, sejm*, posel*, poslow*, senator, 政府, 政治, 中央, 委员会, 共产党, 党中央, 总书记, политик*, "
        "правительств*, президент*, выбор*, депутат*"
    ),
    "Politics > Civic affairs": (
        "civic, civic education, civil society, zivilgesellschaft*, ehrenamt*, volunteer*, community "
        "engagement, burgerbeteiligung*, public service*, offentlicher dienst, verwaltung*, behorde*, "
        "authorities, municipal*, kommunal*, local government, city hall, rathaus*, ayuntamiento*, gemeinde*, "
        "*gemeinde, county, landkreis*, bezirk*, stadtverwaltung*, transit*, public transport*, holocaust*, "
        "erinnerungskultur*"
    ),
    "Politics > Elections": (
        "election*, elections, wahl*, wahlen, bundestagswahl*, landtagswahl*, kommunalwahl*, europawahl*, "
        "wahlkampf*, wahlergebnis*, wahlbeteiligung*, elecciones, eleccion*, elezioni, eleicoes, wybory*, "
        "vote, votes, voting, voter*, ballot*, suffrage*, polls, polling, umfrage*, sondage*, encuesta*, "
        "campaign trail, candidate*, kandidat*, candidat*, candidatura*, candidature*, primaries, electoral*, "
        "wahlrecht*"
    ),
    "Politics > Political Issues & Policy": (
        "policy, policies, reform*, *reform, gesetzentwurf*, legislation, climate policy, klimapolitik*, "
        "climate crisis, klimakrise*, green deal, green new deal, gun control, abortion, abtreibung*, "
        "immigration policy, migrationspolitik*, asylpolitik*, lgbt*, lgbtq*, lgbti*, queer*, same-sex, "
        "surveillance, uberwachung*, intelligence service*, secret service*, nsa, bnd, privacy law*, "
        "netzpolitik*, digitalpolitik*, digital policy, pressefreiheit*, press freedom, meinungsfreiheit*, "
        "free speech, freedom of speech, cancel culture, lockdown*, bildungspolitik*, sozialpolitik*, "
        "familienpolitik*, wohnungspolitik*, energiepolitik*, verkehrspolitik*, sicherheitspolitik*, security "
        "policy, kolonial*, colonial*, colonialism"
    ),
    # --- Pop Culture ------------------------------------------------------------------------------------
    "Pop Culture": (
        "celebrity, celebrities, celeb, celebs, promi, promis, prominent*, vip, gossip, klatsch*, tratsch*, "
        "royal, royals, royal family, prince*, prinz*, princess*, prinzessin*, duke, duchess, herzog*, "
        "herzogin*, meghan, kardashian*, influencer*, reality star*, dschungelcamp*, bachelor, bachelorette, "
        "paparazzi, showbiz news, people magazine, famous, beruhmt*, famoso*, celebrite*, gwiazd*, hollywood "
        "star*, tv-star*, popkultur*, pop culture, popcultura, 明星, popstar*, superstar*, rockstar*, filmstar*"
    ),
    "Pop Culture > Celebrity Deaths": (
        "celebrity death*, died aged, stirbt mit, ist tot, tot aufgefunden, trauert um, mourns"
    ),
    "Pop Culture > Celebrity Families": "celebrity kids, star-kinder, promi-kinder",
    "Pop Culture > Celebrity Homes": "celebrity home*, villa*, mansion*, anwesen*",
    "Pop Culture > Celebrity Pregnancy": "babybauch*, baby bump*, schwanger, expecting a baby, celebrity pregnancy",
    "Pop Culture > Celebrity Relationships": (
        "getrennt, breakup, break-up, divorce, scheidung, verliebt*, turtelt*, neue freundin, neuer freund, "
        "dating rumors, ex-freund*, ex-freundin*, liebescomeback*, hochzeit, verlobt*, romance, romanze*, "
        "affare*"
    ),
    "Pop Culture > Celebrity Scandal": (
        "scandal*, skandal*, escandalo*, scandale*, scandalo, controversy, eklat*, affare, ausraster*, shitstorm*"
    ),
    "Pop Culture > Celebrity Style": (
        "red carpet look*, celebrity style, star-look*, promi-look*, outfit der stars, met gala"
    ),
    "Pop Culture > Humor and Satire": (
        "humor, humour, humorist*, humorous, funny, lustig*, witzig*, satire*, satiri*, kabarett*, "
        "kabarettist*, comedian*, comedy, komiker*, komodiant*, parodie*, parody, joke*, witz*, witze, meme*, "
        "sketch, sketche"
    ),
    # --- Real Estate ------------------------------------------------------------------------------------
    "Real Estate": (
        "real estate, realestate, immobilie*, immobilien*, *immobilie, *immobilien, property, properties, "
        "realty, realtor*, makler*, immobilienmakler*, inmobiliari*, immobiliar*, imove*, imobiliari*, "
        "nieruchomos*, vastgoed*, onroerend goed, grundstuck*, bauland*, landlord*, vermieter*, tenant*, "
        "mieter*, mietwohnung*, miete, mieten, rent, rents, rental market, mietpreis*, kaufpreis*, "
        "quadratmeter*, square feet, sq ft, wohnflache*, property developer*, projektentwickler*, bautrager*, "
        "zillow, redfin, housing, wohnung, wohnungen, wohnungsbau*"
    ),
    "Real Estate > Apartments": (
        "apartment*, appartement*, eigentumswohnung*, condo*, wohnung kaufen, wohnung mieten, flat for rent, "
        "penthouse*, loft*, studio apartment*"
    ),
    "Real Estate > Developmental Sites": (
        "development site*, building plot*, baugrundstuck*, entwicklungsgebiet*, brownfield*, greenfield*, "
        "bebauungsplan*, development plan*"
    ),
    "Real Estate > Hotel Properties": (
        "hotel property, hotel properties, hotelimmobilie*, resort development, hotel development"
    ),
    "Real Estate > Houses": (
        "house for sale, haus kaufen, einfamilienhaus*, reihenhaus*, doppelhaushalfte*, single-family home*, "
        "homes for sale, home prices, hauspreise*"
    ),
    "Real Estate > Industrial Property": (
        "industrial property, gewerbeflache*, lagerhalle*, warehouse*, logistikimmobilie*, industrial park*, "
        "gewerbegebiet*"
    ),
    "Real Estate > Land and Farms": "land for sale, farmland, ackerland*, acres, hektar*, agricultural land",
    "Real Estate > Office Property": (
        "office property, office space*, buroflache*, buroimmobilie*, office building*, burogebaude*, "
        "coworking space*, lease*, leasing office"
    ),
    "Real Estate > Real Estate Buying and Selling": (
        "home buyer*, homebuyer*, immobilienkauf*, hauskauf*, wohnungskauf*, selling a home, immobilie "
        "verkaufen, open house*"
    ),
    "Real Estate > Real Estate Renting and Leasing": (
        "renting, rental*, vermietung*, mietvertrag*, mietspiegel*, tenancy, lease agreement*, leasing"
    ),
    "Real Estate > Retail Property": (
        "retail property, retail space*, ladenflache*, shopping centre developer*, einzelhandelsimmobilie*"
    ),
    "Real Estate > Vacation Properties": (
        "vacation propert*, holiday home*, ferienimmobilie*, ferienwohnung kaufen, second home*, "
        "zweitwohnsitz*, timeshare*"
    ),
    # --- Religion & Spirituality ------------------------------------------------------------------------
    "Religion & Spirituality": (
        "religion*, religios*, religious, religiou*, faith, glaube, glauben an, believer*, glaubige*, church, "
        "churches, kirche*, *kirche, kirchlich*, eglise*, iglesia*, chiesa*, igreja*, kosciol*, kosciel*, "
        "kerk*, god, gott, gottes, gotter, dios, dieu, dio, deus, prayer*, gebet*, beten, pray*, segen*, "
        "blessing*, bless*, holy, heilig*, worship*, pastor*, pfarrer*, pfarrerin*, priest*, priester*, "
        "bishop*, bischof*, bistum*, erzbistum*, diozese*, diocese*, archdiocese*, parish*, pfarrei*, "
        "gemeindeleben, gottesdienst*, seelsorge*, theolog*, 宗教, saints"
    ),
    "Religion & Spirituality > Agnosticism": "agnostic*, agnostiker*, agnostizismus*",
    "Religion & Spirituality > Astrology": (
        "astrolog*, horoscope*, horoskop*, *horoskop, horoscopo*, horoscope, oroscopo*, horoskop, zodiac*, "
        "sternzeichen*, tierkreis*, aszendent*, ascendant, mercury retrograde, merkur ruckläufig, scorpio, "
        "sagittarius, capricorn, tarot*, 星座"
    ),
    "Religion & Spirituality > Atheism": (
        "atheis*, atheist*, secularis*, sakularis*, freethinker*, humanist association"
    ),
    "Religion & Spirituality > Buddhism": (
        "buddhis*, buddha*, dalai lama, monastery, kloster*, monch*, monk, monks, temple*, tempel*, zen, "
        "dharma, 佛教, 佛"
    ),
    "Religion & Spirituality > Christianity": (
        "christen*, christlich*, christentum*, christianity, jesus, christus, bible*, bibel*, gospel*, "
        "evangelium*, evangeli*, catholic*, katholi*, catolic*, cattolic*, protestant*, lutherisch*, "
        "lutheran*, reformiert*, orthodox*, pope, papst*, pape, papa francesco, vatican*, vatikan*, "
        "diakonie*, caritas, heilige messe, kommunion*, firmung*, konfirmation*, taufe*, baptism*, advent, "
        "pfingsten*, pentecost, fastenzeit*, kirchentag*, synode*, synod*, erzbischof*, kardinal*, cardinal*, "
        "christians"
    ),
    "Religion & Spirituality > Hinduism": (
        "hindu*, hinduism*, hinduismus*, vedic, veden, krishna, shiva, vishnu, diwali"
    ),
    "Religion & Spirituality > Islam": (
        "islam*, *islam, islamisch*, islamic, muslim*, moslem*, muslima*, mosque*, moschee*, mezquita*, "
        "imam*, koran*, quran*, qur'an, prophet*, propheten, rasul*, rasulullah, ramadan*, ramazan, hadith*, "
        "hadist, allah, sunni*, shia*, schiit*, sunnit*, halal, hajj, haddsch, umrah, ummah, ustadz, "
        "pengajian, dakwah, 伊斯兰"
    ),
    "Religion & Spirituality > Judaism": (
        "jewish, judaism, judentum*, judisch*, jude, juden, synagog*, rabbi*, rabbiner*, torah, thora, "
        "talmud*, kosher, koscher*, shabbat, sabbat*, hanukkah, chanukka*, yom kippur, passover, pessach"
    ),
    "Religion & Spirituality > Sikhism": "sikh*, gurdwara*, guru nanak",
    "Religion & Spirituality > Spirituality": (
        "spiritual*, spirituell*, spiritualitat*, esoteri*, chakra*, reiki, energy healing, law of "
        "attraction, meditation, achtsamkeit"
    ),
    # --- Science ----------------------------------------------------------------------------------------
    "Science": (
        "science*, scientist*, scientific*, wissenschaft*, *wissenschaft, wissenschaftler*, "
        "wissenschaftlich*, forschung*, *forschung, forscher*, forscherin*, forschende*, research, "
        "researchers, studie, studien, study finds, sciences, ciencia*, cientifico*, science et, sciences et, "
        "scienza*, scienziat*, ciencias, nauka, naukow*, wetenschap*, onderzoek*, laboratory, laboratories, "
        "experiment*, physik*, physics, physicist*, chemistry, chemie, chemist*, biology, biolog*, "
        "max-planck*, fraunhofer*, leibniz, eth, cern, 科学, 研究"
    ),
    "Science > Biological Sciences": (
        "biology, biological, biolog*, microb*, mikrob*, microorganism*, mikroorganism*, bacteria*, bakteri*, "
        "zelle*, zellen, protein*, enzym*, enzyme*, organism*, organismus*, species, spezies, evolution*, "
        "ecology, okolog*, zoolog*, botan*, neuroscience*, neurowissenschaft*, photosynthes*"
    ),
    "Science > Chemistry": (
        "chemistry, chemie, chemical*, chemisch*, chemist*, chemiker*, molecul*, molekul*, *molekul, "
        "reaktion*, catalys*, katalys*, polymer*, analytical, analytik*, spectroscop*, spektroskop*, laser*"
    ),
    "Science > Environment": (
        "environment*, environmental*, umwelt*, *umwelt, environnement*, medio ambiente, ambiente, "
        "ambiental*, srodowisk*, milieu, climate*, klima*, *klima, klimawandel*, climate change, global "
        "warming, erderwarmung*, klimaschutz*, cop26, cop27, cop28, ecolog*, okolog*, ecosystem*, okosystem*, "
        "biodiversit*, artenvielfalt*, artenschutz*, species protection, naturschutz*, *naturschutz, nature "
        "conservation, conservation*, nature reserve, wildlife, wildtier*, wild animal*, habitat*, "
        "lebensraum*, lebensraume, natur, nature, *natur, naturnah*, feuchtgebiet*, wetland*, forest*, wald, "
        "walder, waldes, *wald, forst*, forstwirtschaft*, holz, timber, deforestation, abholzung*, pollution, "
        "verschmutz*, luftverschmutz*, emission*, co2, carbon*, greenhouse gas*, air pollut*, sustainab*, "
        "nachhaltig*, nachhaltigkeit*, durabilite, sostenibil*, sustentabil*, plastic waste, plastikmull*, "
        "mikroplastik*, grundwasser*, water quality, wasserqualitat*, gewasser*, river*, fluss, flusse, "
        "rhein, elbe, lake*, ocean*, meer*, ozean*, eagle*, adler*, luchs*, lynx, hirsch*, deer, wildlife "
        "protection, wusten*, environmental protection, greenpeace, wwf, nabu, 环境, 生态"
    ),
    "Science > Genetics": (
        "genetic*, genetik*, genom*, genome*, dna, rna, crispr, gene, genes, erbgut*, mutation*, heredit*, vererbung*"
    ),
    "Science > Geography": "geography, geograf*, geographi*, cartograph*, kartograf*, topograph*",
    "Science > Geology": (
        "geology, geolog*, geologist*, rock formation*, gestein*, fossil*, dinosaur*, dinosaurier*, plate "
        "tectonic*, plattentekton*, volcanolog*, vulkanolog*, seismolog*, minerals, mineralogy, mineralog*"
    ),
    "Science > Physics": (
        "physics, physik*, physicist*, physiker*, quantum, quanten*, particle*, teilchen*, accelerator*, "
        "atom*, *atom, atome, kernphysik*, nuclear physics, nucleus, nuclei, proton*, neutron*, electron*, "
        "relativit*, gravitation*, gravity, laserphysik*, optics, optik*, fusion research, kernfusion*, "
        "plasma*, higgs, boson*, desy"
    ),
    "Science > Space and Astronomy": (
        "space, spaceflight, raumfahrt*, astronom*, astrophys*, astronaut*, cosmonaut*, nasa, esa, spacex, "
        "blue origin, roscosmos, rocket*, rakete*, launch vehicle*, apollo, satellite*, satellit*, "
        "telescope*, teleskop*, webb telescope, james webb, planet*, exoplanet*, mars, moon, moons, mond, "
        "lunar, jupiter, saturn, venus, mercury, neptune, uranus, enceladus, galax*, cosmic*, kosmisch*, "
        "cosmos, kosmos, universe, universum, pulsar*, black hole*, schwarzes loch, schwarze locher, "
        "asteroid*, comet*, komet*, meteor*, orbit*, spacecraft, raumsonde*, space probe*, iss, space "
        "station*, raumstation*, stern, sterne, star formation, supernova*, 天文, 航天"
    ),
    "Science > Weather": (
        "weather, wetter*, *wetter, forecast*, vorhersage*, wettervorhersage*, meteorolog*, meteo*, "
        "temperature*, temperatur*, grad celsius, degrees celsius, heatwave*, heat wave*, hitzewelle*, "
        "frost*, snow, schnee*, *schnee, snowfall*, schneefall*, rain, regen, rainfall, niederschlag*, "
        "storm*, unwetter*, gewitter*, thunderstorm*, blizzard*, hail, hagel*, wind chill, glatteis*, clima, "
        "pogoda, 天气, sturm, sturme"
    ),
    # --- Sensitive Topics -------------------------------------------------------------------------------
    "Sensitive Topics": "sensitive content, explicit content, nsfw",
    "Sensitive Topics > Adult & Explicit Sexual Content": (
        "porn*, *porn, porno*, xxx, sex, sexy, sexual*, nude*, nudes, naked, nackt*, erotic*, erotik*, "
        "erotisch*, escort*, camgirl*, cam girl*, webcam sex, milf, hentai, adult video*, adult film*, jav, "
        "onlyfans, stripper*, strip club*, fetish*, 成人, 色情, 三级, 女优, 黄色, av"
    ),
    "Sensitive Topics > Arms & Ammunition": (
        "gun, guns, firearm*, handgun*, waffe, waffen*, *waffe, *waffen, weapon*, munition*, ammunition, "
        "ammo, rifle*, gewehr*, pistol*, pistole*, revolver*, shotgun*, flinte*, nra, gun law*, gun owner*, "
        "arms deal*, arms export*, rustungsexport*, waffenlieferung*, arms shipment*, armas, armi, bron "
        "palna, mass shooting*, school shooting*, schusse"
    ),
    "Sensitive Topics > Crime & Harmful Acts to Individuals, Society & Human Right Violations": (
        "human rights violation*, menschenrechtsverletzung*, torture*, folter*, human trafficking, "
        "menschenhandel*, child abuse, kindesmissbrauch*, sexual abuse, sexueller missbrauch, genocide*, "
        "volkermord*, war crime*, kriegsverbrechen*, sexual harassment, sexuelle belastigung*"
    ),
    "Sensitive Topics > Death, Injury, or Military Conflict": (
        "death*, dead, died, dying, tod, tot, tote, toten, todlich*, stirbt, starb, gestorben, verstorben*, "
        "fatal*, fatality, fatalities, killed, getotet*, ums leben, injur*, injured, verletzt*, verletzung*, "
        "schwerverletzt*, leichtverletzt*, wounded, casualt*, accident*, unfall*, *unfall, verkehrsunfall*, "
        "autounfall*, crash, crashes, collision*, zusammenstoss*, kollision*, unglück*, ungluck*, accidente*, "
        "incidente*, wypadek*, wypadk*, ongeval*, rettungsdienst*, notarzt*, feuerwehr*, firefighter*, "
        "ambulance*, krankenwagen*, rettungshubschrauber*"
    ),
    "Sensitive Topics > Debated Sensitive Social Issues": (
        "abortion*, abtreibung*, racism, rassismus*, racist*, rassist*, discriminat*, diskriminier*, lgbt*, "
        "lgbtq*, lgbti*, transgender*, homosexu*, homophob*, same-sex marriage, gay marriage, ehe fur alle, "
        "death penalty, todesstrafe*, euthanasia, sterbehilfe*, assisted suicide, gender debate, "
        "genderdebatte*, feminis*, #metoo, metoo, police brutality, black lives matter, migration debate"
    ),
    "Sensitive Topics > Hate Speech and Acts of Aggression": (
        "hate speech, hassrede*, hetze*, hasskommentar*, hasspost*, hate crime*, antisemit*, islamophob*, "
        "xenophob*, fremdenfeindlich*, neonazi*, neo-nazi*, rechtsextremis*, white supremac*, beleidigung*, "
        "bullying, mobbing*, cybermobbing*, harassment"
    ),
    "Sensitive Topics > Illegal Drugs, Tobacco, eCigarettes, Vaping, Alcohol": (
        "illegal drug*, drugs, drogen*, droga*, drogas, drogue*, narco*, narcotic*, cocaine, kokain*, heroin, "
        "meth, methamphetamine*, crystal meth, cannabis*, marijuana, marihuana, kiffen, opioid*, fentanyl*, "
        "overdose*, uberdosis*, tobacco, tabak*, cigarette*, zigarette*, smoking, rauchen, raucher*, vape*, "
        "vaping, e-zigarette*, e-cigarette*, drogenfahndung*, alcoholism, alkoholsucht*, addiction*, drug "
        "addict*"
    ),
    "Sensitive Topics > Obscenity and Profanity": (
        "profanity, obscenity, obscene, fuck*, shit, arschloch, scheisse, bullshit"
    ),
    "Sensitive Topics > Online Piracy": (
        "piracy, online piracy, piraterie*, raubkopie*, raubkopierer*, torrent*, filesharing, file sharing, "
        "warez, illegal download*, illegal streaming, streaming-portal* illegal, kinox"
    ),
    "Sensitive Topics > Spam or Harmful Content": ("spam, spammer*, phishing, clickbait, fake shop*, keyword stuffing"),
    "Sensitive Topics > Terrorism": (
        "terror*, terrorist*, terrorism, terrorismus*, terrorisme, terrorismo, anschlag*, terroranschlag*, "
        "attentat*, isis, islamic state, islamischer staat, al-qaeda, al qaeda, al-qaida, jihad*, dschihad*, "
        "dschihadist*, suicide bomb*, selbstmordattentat*, extremis*, radikalisier*, radicali*"
    ),
    # --- Shopping ---------------------------------------------------------------------------------------
    "Shopping": (
        "shopping, shop, shops, *shop, onlineshop*, online shop*, store, stores, einkauf*, einkaufen, kaufen, "
        "buy, buying, purchase*, order now, bestellen, bestellung*, versand*, versandkostenfrei*, lieferung*, "
        "delivery, price, prices, pricing, preise, cheap*, cheapest, gunstig*, billig*, discount*, rabatt*, "
        "sale, deals, deal of the day, angebot*, angebote, schnappchen*, oferta*, ofertas, offerta*, offerte, "
        "promocion*, promocao*, promo*, soldes, rebajas, saldi, black friday, cyber monday, prime day, "
        "amazon, ebay, aliexpress, zalando, warenkorb*, cart, checkout, in stock, auf lager, retailer*, "
        "bargain*, 购物, 商城, 优惠"
    ),
    "Shopping > Children's Games and Toys": (
        "toy, toys, spielzeug*, *spielzeug, spielsachen*, lego, playmobil, juguete*, giocattol*, jouet*, "
        "brinquedo*, zabawk*, speelgoed*, kinderspielzeug*, holzspielzeug*, educational toys"
    ),
    "Shopping > Coupons and Discounts": (
        "coupon*, gutschein*, *gutschein, voucher*, promo code*, promocode*, rabattcode*, gutscheincode*, "
        "discount code*, cupon*, codice sconto, code promo"
    ),
    "Shopping > Flower Shopping": (
        "florist*, blumenladen*, flower delivery, blumenversand*, blumenstrauss*, bouquet*, fleurop"
    ),
    "Shopping > Gifts and Greetings Cards": (
        "gifts, gift idea*, gift guide*, geschenk*, *geschenk, geschenkidee*, mitbringsel*, greeting card*, "
        "grusskarte*, gluckwunschkarte*, werbegeschenk*, werbeartikel*, giveaway*, promotional product*, "
        "corporate gifts, 礼物"
    ),
    "Shopping > Grocery Shopping": (
        "grocery, groceries, supermarket*, supermarkt*, *supermarkt, discounter*, aldi, lidl, rewe, edeka, "
        "kaufland, netto, penny, tesco, walmart, lebensmittelhandel*, wholesaler*, grossist*, cash and carry, "
        "biedronka, hurtow*"
    ),
    "Shopping > Holiday Shopping": (
        "christmas shopping, weihnachtsgeschenk*, weihnachtseinkauf*, black friday, cyber monday, singles "
        "day, holiday deals"
    ),
    "Shopping > Household Supplies": (
        "household supplies, haushaltswaren*, cleaning product*, putzmittel*, reinigungsmittel*, detergent*, "
        "waschmittel*"
    ),
    "Shopping > Lotteries and Scratchcards": (
        "lottery, lotteries, lotto*, *lotto, lotterie*, loteria*, lotteria*, jackpot*, scratchcard*, scratch "
        "card*, rubbellos*, euromillion*, eurojackpot*, powerball, mega millions, lottozahlen*, ziehung*, 彩票, "
        "乐透, 双色球, 大乐透"
    ),
    "Shopping > Party Supplies and Decorations": (
        "party supplies, partyzubehor*, partydeko*, luftballon*, balloons, party decoration*, girlande*"
    ),
    "Shopping > Sales and Promotions": (
        "sale, sales event, deals, deal, angebot, angebote, discount, discounts, prozente, reduziert*, price "
        "cut*, preisnachlass*, price drop*, ahorra, promotion*, black friday deal*, limited time, lowest "
        "price*, tiefstpreis*, bestpreis*"
    ),
    # --- Sports -----------------------------------------------------------------------------------------
    "Sports": (
        "sport, sports, *sport, sportler*, sportlerin*, sportlich*, sportverein*, sportclub*, sportverband*, "
        "athlete*, athlet, athleten, athletin*, mannschaft*, *mannschaft, coach, coaches, head coach, "
        "cheftrainer*, trainer, trainers, trainerin*, co-trainer*, league*, liga, ligen, *liga, ligue*, "
        "championship*, meisterschaft*, *meisterschaft, meister, weltmeister*, europameister*, "
        "olympiasieger*, tournament*, turnier*, *turnier, torneo*, tournoi*, torneio*, turniej*, match, "
        "matches, spieltag*, saison*, playoff*, play-off*, finals, finale, semifinal*, halbfinal*, "
        "viertelfinal*, quarterfinal*, pokal*, *pokal, sieg, *sieg, niederlage*, defeat*, remis, "
        "unentschieden, stadium, stadion*, arena, fans, spieler*, spielerin*, nationalspieler*, "
        "nationalmannschaft*, national team, kader, squad*, rekord*, medal*, medaille*, deportes, deportivo*, "
        "deporte, sportivo*, sportiva*, esporte*, sportowy*, sporty, wedstrijd*, спорт*, матч*, чемпион*, "
        "тренер*, клуб*, 体育, 比赛, handball*, handballer*"
    ),
    "Sports > American Football": (
        "american football, nfl, football, touchdown*, quarterback*, super bowl, superbowl, linebacker*, wide "
        "receiver*, running back*, field goal*, interception*, browns, cowboys, packers, steelers, eagles, "
        "49ers, ravens, broncos, seahawks, raiders, pro football, rushing yards, passing yards"
    ),
    "Sports > Australian Rules Football": "australian rules, aussie rules, afl",
    "Sports > Auto Racing": (
        "auto racing, motorsport*, motor racing, racing, formula 1, formula one, formel 1, formel-1, f1, "
        "grand prix, grand-prix, nascar, indycar, rallye*, rallies, dtm, le mans, wec, motogp, superbike*, "
        "racing driver*, rennfahrer*, rennstall*, boxenstopp*, pit stop*, pole position, ferrari, red bull "
        "racing, mercedes amg, mclaren, verstappen, leclerc, schumacher, vettel, pistenstopp*, rallye monte "
        "carlo"
    ),
    "Sports > Badminton": "badminton",
    "Sports > Baseball": (
        "baseball, mlb, pitcher*, home run*, homerun*, world series, yankees, dodgers, red sox, innings"
    ),
    "Sports > Basketball": (
        "basketball, nba, wnba, euroleague, baloncesto, pallacanestro, koszykowk*, dunk*, three-pointer*, "
        "lakers, celtics, warriors, bulls, alba berlin"
    ),
    "Sports > Beach Volleyball": "beach volleyball, beachvolleyball*",
    "Sports > Bodybuilding": "bodybuilding, bodybuilder*",
    "Sports > Bowling": "bowling, kegeln, bowler*",
    "Sports > Boxing": (
        "boxing, boxen, boxer*, boxkampf*, boxkampfe, boxe, boxeo, pugil*, heavyweight*, schwergewicht*, "
        "middleweight*, weltergewicht*, welterweight*, wbc, wba, ibf, wbo, knockout*, ringrichter*, "
        "titelkampf*, klitschko, usyk, canelo"
    ),
    "Sports > Cheerleading": "cheerleading, cheerleader*",
    "Sports > College Sports": (
        "college sports, college football, college basketball, ncaa, march madness, mid-american conference, "
        "big ten, sec, acc"
    ),
    "Sports > Cricket": "cricket, cricketer*, ipl, test match*, wicket*, twenty20, t20, odi",
    "Sports > Cycling": (
        "cycling, cyclist*, radsport*, *radsport, radrenn*, radfahr*, radfahren, radler*, fahrrad*, *fahrrad, "
        "bike, bikes, *bike, biking, biker, bicycle*, mountainbike*, mountain bike*, mtb, e-bike*, ebike*, "
        "gravel bike*, rennrad*, road bike*, tour de france, giro d'italia, vuelta, tour de suisse, velo, "
        "velos, ciclismo, cyclisme, kolarstw*, wielrenn*, trails, singletrail*, bikepark*, downhill*, bmx, "
        "uci, peloton"
    ),
    "Sports > Darts": "darts, dart, pdc",
    "Sports > Disabled Sports": (
        "paralympi*, para sport*, parasport*, behindertensport*, wheelchair sport*, rollstuhlsport*, special olympics"
    ),
    "Sports > Diving": "diving, tauchen, taucher*, tauchsport*, scuba, wasserspringen, high diving",
    "Sports > Equine Sports": (
        "equestrian*, dressage, dressur*, show jumping, springreit*, reitsport*, reiter*, reiterin*, reiten, "
        "reitlehrer*, reitschule*, horse riding, horseback, horse racing, pferderennen*, galopp*, trabrenn*, "
        "pferdesport*, turnierreiter*, vielseitigkeit*, eventing, hippodrome*, rennbahn*, jockey*"
    ),
    "Sports > Extreme Sports": (
        "extreme sport*, extremsport*, climbing, climber*, klettern, kletterer*, kletterin*, bouldern, "
        "boulder*, mountaineer*, bergsteig*, *bergsteigen, alpinist*, alpinis*, surfing, surfer*, surf, "
        "kitesurf*, windsurf*, wingfoil*, skateboard*, skater*, parkour, bungee, base jump*, paragliding, "
        "gleitschirm*, canyoning, kayak*, kajak*, canoe*, kanu*, rafting, wakeboard*, snowboard*, 8000er, "
        "everest, matterhorn"
    ),
    "Sports > Fantasy Sports": "fantasy football, fantasy league*, fantasy sport*, managerspiel*, comunio, kicktipp",
    "Sports > Field Hockey": "field hockey, feldhockey*, hockey",
    "Sports > Figure Skating": "figure skating, eiskunstlauf*, eiskunstlaufer*",
    "Sports > Fishing Sports": (
        "fishing, fisherman, fishermen, angeln, angler*, anglerin*, angelsport*, angelrute*, karpfen*, carp, "
        "carpfishing, koder*, bait*, pesca, peche, wedkar*, fly fishing, fliegenfischen, hecht*, zander*, "
        "forelle*"
    ),
    "Sports > Golf": (
        "golf, golfer*, golfing, golfplatz*, golf course*, pga, lpga, ryder cup, masters tournament, birdie, "
        "bogey, fairway*"
    ),
    "Sports > Gymnastics": (
        "gymnastics, gymnast*, turnen, turnerin*, turnverband*, turnverein*, kunstturn*, rhythmische "
        "sportgymnastik, trampolin*"
    ),
    "Sports > Hunting and Shooting": (
        "hunting, hunter*, jagd*, *jagd, jager*, jagerin*, jagen, jagdschein*, wildbret*, hochsitz*, "
        "waidmann*, hege, shooting sport*, schiesssport*, sportschutz*, schutzenverein*, caza, cazador*, "
        "chasse, chasseur*, caccia, cacciator*, lowiec*, polowani*"
    ),
    "Sports > Ice Hockey": "ice hockey, eishockey*, nhl, puck*, stanley cup",
    "Sports > Inline Skating": "inline skat*, inliner*, rollerblad*",
    "Sports > Lacrosse": "lacrosse",
    "Sports > Martial Arts": (
        "martial art*, kampfsport*, karate*, judo*, taekwondo, kung fu, mma, ufc, kickbox*, jiu-jitsu, jiu "
        "jitsu, bjj, muay thai, aikido, fechten, fechter*"
    ),
    "Sports > Olympic Sports": (
        "olympi*, olympics, olympia*, olympic games, olympische spiele, juegos olimpicos, jeux olympiques, "
        "ioc, commonwealth games, winterspiele*, sommerspiele*"
    ),
    "Sports > Poker and Professional Gambling": "poker*, pokerstars, wsop, texas hold'em",
    "Sports > Rodeo": "rodeo*, bull riding",
    "Sports > Rowing": "rowing, rower*, rudern, ruderer*, ruderin*, ruderclub*, ruderverein*, regatta",
    "Sports > Rugby": "rugby, six nations, rugby league, rugby union, all blacks",
    "Sports > Sailing": (
        "sailing, sailor*, segeln, segler*, seglerin*, segel*, sail, sails, regatta*, yacht*, jacht*, "
        "america's cup, vendee globe"
    ),
    "Sports > Skiing": (
        "skiing, ski, skis, skier*, skifahr*, skifahrer*, skigebiet*, ski resort*, skiresort*, skiurlaub*, "
        "skipiste*, skilift*, alpine ski*, slalom*, abfahrtslauf*, biathlon*, langlauf*, cross-country ski*, "
        "ski jumping, skisprung*, skispringen, snowboard*, tiefschnee*, lawinenbericht*, ski mountaineering"
    ),
    "Sports > Snooker/Pool/Billiards": "snooker, billiard*, billard*, pool billiards",
    "Sports > Soccer": (
        "soccer, football, footballer*, fussball*, *fussball, fussballer*, futbol*, futbol, futebol*, calcio, "
        "voetbal*, pilka nozna, pilkarz*, футбол*, bundesliga*, 2. bundesliga, premier league, champions "
        "league, europa league, la liga, serie a, ligue 1, eredivisie, mls, fifa, uefa, dfb, world cup, "
        "weltmeisterschaft, goalkeeper*, torwart*, torhuter*, sturmer*, midfielder*, mittelfeld*, "
        "verteidiger*, elfmeter*, penalty, penalties, freistoss*, abseits, offside, eckball*, "
        "trainerwechsel*, hsv, hertha*, bvb, fc bayern, bayern munchen, schalke, werder, tottenham, spurs, "
        "manchester united, man utd, chelsea, arsenal, liverpool, real madrid, juventus, mourinho, "
        "pochettino, regionalliga*, kreisliga*, gol, goles, golazo"
    ),
    "Sports > Softball": "softball",
    "Sports > Sports Equipment": (
        "sports equipment, sportausrustung*, sportartikel*, sporthandel*, sportgeschaft*, sportscheck, "
        "decathlon, material test*, materialtest*"
    ),
    "Sports > Squash": "squash",
    "Sports > Swimming": (
        "swimming, swimmer*, schwimm*, *schwimmen, schwimmer*, schwimmerin*, natacion, natation, nuoto, "
        "plywani*, zwemmen, freestyle, breaststroke, brustschwimm*, kraul*"
    ),
    "Sports > Table Tennis": "table tennis, tischtennis*, ping pong, ping-pong",
    "Sports > Tennis": (
        "tennis, tennisspieler*, wimbledon, atp, wta, grand slam, us open, australian open, french open, "
        "roland garros, roland-garros, federer, djokovic, zverev, serena williams, medvedev, alcaraz, "
        "tiebreak*"
    ),
    "Sports > Track and Field": (
        "track and field, athletics, leichtathletik*, marathon*, halbmarathon*, sprinter*, 100 meter*, 100m, "
        "pole vault*, hurdles, hurden*, weitsprung*, long jump, hochsprung*, high jump, kugelstossen, shot "
        "put, speerwurf*, javelin, diskus*, discus, decathlon, zehnkampf*, european athletics"
    ),
    "Sports > Volleyball": "volleyball, volley, pallavolo, siatkowk*",
    "Sports > Walking": "walking, nordic walking, spazier*, spaziergang*, wanderung",
    "Sports > Water Polo": "water polo, wasserball*",
    "Sports > Weightlifting": "weightlifting, gewichtheben, gewichtheber*, powerlifting, kraftdreikampf*",
    "Sports > Wrestling": "wrestling, wwe, wrestler*",
    # --- Style & Fashion --------------------------------------------------------------------------------
    "Style & Fashion": (
        "fashion*, *fashion, mode, *mode, modisch*, moda, modowy*, styling, stilvoll*, outfit*, trendy, "
        "clothing, clothes, kleidung*, *kleidung, bekleidung*, *bekleidung, kleid, kleider, ropa, vetement*, "
        "abbigliamento, roupa*, ubrani*, kleding, label, labels, lieblingslabel*, designer, luxury, luxus*, "
        "*luxus, luxe, lujo, lusso, accessoire*, accessories, accessory, schmuck*, jewelry, jewellery, "
        "bijou*, fashion week, vogue, glamour, instyle, harper's bazaar"
    ),
    "Style & Fashion > Beauty": (
        "beauty, *beauty, schonheit*, beaute, belleza, bellezza, uroda, kosmetik*, cosmetic*, cosmetique*, "
        "makeup, make-up, maquillage, maquillaje, lipstick*, lippenstift*, mascara, concealer*, skincare, "
        "skin care, hautpflege*, skin, anti-aging, serum*, creme*, hair, haare, haar, *haare, haarpflege*, "
        "hair care, haarausfall*, hair loss, shampoo*, frisur*, frisuren, hairstyle*, haircut*, friseur*, "
        "hairdresser*, coiffeur*, barber*, nail*, nagel*, manikure*, manicure*, perfume*, parfum*, parfüm*, "
        "duft, dufte, fragrance*, sephora, douglas, l'oreal, loreal"
    ),
    "Style & Fashion > Body Art": "tattoo*, tattoos, tatowier*, piercing*, body art",
    "Style & Fashion > Children's Clothing": (
        "children's clothing, kinderkleidung*, kindermode*, babykleidung*, babymode*"
    ),
    "Style & Fashion > Designer Clothing": (
        "designer clothing, designermode*, designer label*, louis vuitton, gucci, prada, chanel, dior, "
        "hermes, versace, balenciaga, burberry, fendi, valentino, armani"
    ),
    "Style & Fashion > Fashion Trends": (
        "fashion trend*, modetrend*, trendfarbe*, must-have*, it-piece*, it-teil*, saisontrend*, street "
        "style, streetstyle*, runway*, laufsteg*"
    ),
    "Style & Fashion > High Fashion": (
        "haute couture, couture, high fashion, runway show*, fashion show*, modenschau*, catwalk*"
    ),
    "Style & Fashion > Men's Fashion": (
        "men's fashion, herrenmode*, mannermode*, menswear, herrenbekleidung*, anzug*, anzuge, krawatte*, massanzug*"
    ),
    "Style & Fashion > Personal Care": (
        "personal care, korperpflege*, deodorant*, deo, shaving, rasur*, rasierer*, oral care, zahnpflege*, "
        "bath and shower, duschgel*"
    ),
    "Style & Fashion > Street Style": "street style, streetwear*, sneaker*, hoodie*, urban style",
    "Style & Fashion > Women's Fashion": (
        "women's fashion, damenmode*, frauenmode*, womenswear, damenbekleidung*, handbag*, handtasche*, "
        "*handtasche, tasche, taschen, purse*, high heels, dress, dresses, kleid, kleider, skirt*, bluse*, "
        "blouse*, jacket*, jacke*, *jacke, coat*, mantel*, pullover*, pulli*, sweater*, strick*, cardigan*, "
        "jeans, bikini*, badeanzug*, lingerie, dessous*, unterwasche*, shoes, schuhe*, stiefel*, boots, "
        "sandal*"
    ),
    # --- Technology & Computing -------------------------------------------------------------------------
    "Technology & Computing": (
        "technology, technologies, technolog*, technologie*, tecnolog*, technologi*, tech, techie*, techn*, "
        "hi-tech, high-tech, hightech*, digitalisierung*, digitization, digitalization, digital "
        "transformation, innovation*, innovativ*, gadget*, internet*, *internet, silicon valley, startup "
        "tech, apple, microsoft, amazon web services, aws, samsung, huawei, xiaomi, sony, intel, amd, nvidia, "
        "qualcomm, ibm, oracle, sap, tencent, alibaba, baidu, bytedance, openai, anthropic, deepmind, 科技, 技术, "
        "互联网, технолог*, компьютер*, интернет*"
    ),
    "Technology & Computing > Artificial Intelligence": (
        "artificial intelligence, ai, a.i., ki, kunstliche intelligenz, intelligence artificielle, "
        "inteligencia artificial, intelligenza artificiale, sztuczna inteligencja, machine learning, "
        "maschinelles lernen, deep learning, neural network*, neuronale netz*, chatgpt, gpt*, llm, llms, "
        "large language model*, generative ai, chatbot*, algorithm*, algorithmus*, algorithmen*, computer "
        "vision, data science, data scientist*, 人工智能"
    ),
    "Technology & Computing > Augmented Reality": (
        "augmented reality, ar, erweiterte realitat, hololens, ar-brille*, mixed reality"
    ),
    "Technology & Computing > Computing": (
        "computer*, computing, rechner*, informatik*, informatique, informatica, informatyk*, software*, "
        "hardware, programming, programmier*, programmer*, programmierer*, coding, developer*, entwickler*, "
        "softwareentwickl*, webentwickl*, github, gitlab, git, repository, repositories, open source, "
        "open-source, linux, unix, ubuntu, debian, windows, windows 11, macos, mac os, ios, android, "
        "operating system*, betriebssystem*, python, javascript, typescript, java, c++, c#, rust lang*, "
        "golang, php, ruby, perl, sql, json, api, apis, sdk, framework*, parser, parsing, compiler*, "
        "database*, datenbank*, server*, cloud, cloud computing, saas, devops, kubernetes, docker, "
        "virtualization, bash, command line, kommandozeile*, usb, adapter*, browser*, firefox, chrome, "
        "safari, plugin*, plug-in*, firmware, web development, webentwicklung*, wordpress plugin*, "
        "it-sicherheit*, cybersecurity, cyber security, cyber*, *cyber, hacker*, hacked, gehackt, "
        "hackerangriff*, cyberangriff*, cyberattack*, data leak*, datenleck*, data breach*, datenpanne*, "
        "ransomware, malware, virenschutz*, antivirus, vpn*, encryption*, verschlusselung*, phishing, "
        "statistics software, font size, byte*, megabyte*, gigabyte*, cpu*, gpu*, processor*, prozessor*, "
        "chip, semiconductor*, halbleiter*, ram, ssd*, data center*, rechenzentr*, quantum computing, "
        "quantencomput*, supercomputer*, blockchain, edv, komputer*, oprogramowani*, programowani*, 软件, 编程, "
        "电脑"
    ),
    "Technology & Computing > Consumer Electronics": (
        "consumer electronics, unterhaltungselektronik*, electronics, elektronik*, smartphone*, smartphones, "
        "iphone*, ipad*, macbook*, imac, apple watch, galaxy s*, pixel phone*, handys, mobile phone*, cell "
        "phone*, telefon*, laptop*, notebook*, tablet*, e-reader*, kindle, smartwatch*, wearable*, fitness "
        "tracker*, headphones, kopfhorer*, earbuds, lautsprecher*, soundbar*, camera*, kamera*, camcorder*, "
        "tv set*, fernseher*, 4k tv*, oled, qled, graphics card*, grafikkarte*, radeon, playstation 5, "
        "console, gadget*, apple-gerate, usb-c, 手机"
    ),
    "Technology & Computing > Robotics": (
        "robot*, roboter*, robotik*, robotics, automation*, automatisierung*, drone*, drohne*, 3d printing, "
        "3d-druck*, 3d printer*, 3d-drucker*, 3-d printer*, additive manufacturing, cnc, mechatronik*"
    ),
    "Technology & Computing > Virtual Reality": (
        "virtual reality, vr, virtuelle realitat, metaverse, metaversum, oculus, quest 2, vr-brille*, vr headset*"
    ),
    # --- Travel -----------------------------------------------------------------------------------------
    "Travel": (
        "travel*, traveller*, traveler*, reise, reisen, *reise, *reisen, reiseziel*, reisefuhrer*, "
        "reisetipp*, reiseblog*, reiseland*, urlaub*, *urlaub, urlauber*, *urlauber, ferien, *ferien, "
        "holiday, holidays, vacation*, vacances, vacaciones, vacanze, ferias, wakacje, vakantie*, viaje*, "
        "viagem*, viaggio*, viaggi, podroz*, podroze, reizen, voyage*, tourism, tourist*, touristi*, "
        "tourismus*, turismo, tourisme, turyst*, toerism*, sightseeing, destination*, city trip*, "
        "stadtereise*, stadtetrip*, kurztrip*, wochenendtrip*, getaway*, trip, trips, excursion*, ausflug*, "
        "tagesausflug*, erkunden, sehenswert*, metropole, old town, malerisch*, traumhaft*, idyllisch*, "
        "scenery, lonely planet, tripadvisor, 旅游, 旅行"
    ),
    "Travel > Travel Accessories": (
        "luggage, gepack*, koffer*, suitcase*, travel bag*, reisetasche*, backpack*, rucksack*, travel gear, "
        "reiseadapter*, packliste*, packing list*"
    ),
    "Travel > Travel Locations": (
        "balearen, mallorca, kanaren, teneriffa, lanzarote, ibiza, bali, tirol, tyrol, sylt, rugen, ostsee, "
        "nordsee, bodensee, alps, alpen, dolomiten, dolomites, toskana, tuscany, provence, cote d'azur, "
        "algarve, lapland, karibik, patagonia, safari, maldives, malediven, steiermark, wachau"
    ),
    "Travel > Travel Preparation and Advice": (
        "travel tips, reisetipps, travel advice, reisehinweis*, reisewarnung*, travel warning*, passport*, "
        "reisepass*, visum, visa requirements, einreise*, travel insurance, reiseversicherung*, "
        "reiseplanung*, travel planning, packing tips, jetlag, jet lag, leben in"
    ),
    "Travel > Travel Type": (
        "hotel, hotels, *hotel, hostel*, motel*, resort*, *resort, ferienhaus*, ferienhauser, ferienwohnung*, "
        "ferienwohnungen, ferienanlage*, ferienpark*, unterkunft*, unterkunfte, accommodation*, "
        "ubernachtung*, bed and breakfast, b&b, pension, gasthof, chalet*, cabin*, holiday home*, holiday "
        "cottage*, vacation rental*, airbnb, travanto, booking.com, camping*, campingplatz*, camper*, "
        "wohnmobil*, caravan*, cruise*, kreuzfahrt*, flight, flights, flug, fluge, flugreise*, airport*, "
        "flughafen*, rail travel, bahnreise*, zugreise*, road trip*, roadtrip*, backpacking, backpacker*, "
        "rundreise*, pauschalreise*, all inclusive, all-inclusive, beach holiday*, strandurlaub*, strand*, "
        "beach, beaches, playa*, spiaggia, plage*, island*, insel, inseln, inselhopping, honeymoon*, "
        "flitterwochen*, family travel, familienurlaub*, adventure travel, abenteuerreise*, spa hotel*, "
        "wellnesshotel*, wellnessurlaub*, thermenurlaub*, day trip*, tagesausflug*, seeblick*, meerblick*, "
        "bergblick*, radreisen, wanderurlaub*, skiurlaub*"
    ),
    # --- Video Gaming -----------------------------------------------------------------------------------
    "Video Gaming": (
        "video game*, videogame*, videospiel*, computerspiel*, konsolenspiel*, gaming, gamer*, gamers, "
        "console*, konsole*, playstation*, ps4, ps5, xbox*, nintendo*, switch games, wii, epic games, twitch, "
        "cloud gaming, game pass, fortnite, minecraft, zelda, pokemon, gta, grand theft auto, call of duty, "
        "league of legends, dota*, counter-strike, world of warcraft, elder scrolls, the witcher, cyberpunk "
        "2077, rpg, rpgs, mmorpg*, mmo*, gameplay, dlc*, walkthrough*, cheats, cheat codes, mods, speedrun*, "
        "jeux video, jeu video, videojuego*, videogioch*, gry komputerowe, игр*, игра, игре, игры, 游戏, 电竞, 手游"
    ),
    "Video Gaming > Console Games": "console game*, konsolenspiel*, playstation, ps4, ps5, xbox, nintendo switch",
    "Video Gaming > eSports": (
        "esport*, e-sport*, esports, pro gamer*, lan party, counter-strike major, league of legends worlds"
    ),
    "Video Gaming > Mobile Games": (
        "mobile game*, handyspiel*, smartphone game*, app game*, mobile gaming, google play games"
    ),
    "Video Gaming > PC Games": "pc game*, pc-spiel*, pc gaming, epic games store, gog",
    "Video Gaming > Video Game Genres": (
        "role-playing game*, rollenspiel*, shooter*, ego-shooter*, strategy game*, strategiespiel*, open "
        "world, open-world, survival game*, simulation game*, racing game*, indie game*, indie-spiel*"
    ),
    # --- War and Conflicts ------------------------------------------------------------------------------
    "War and Conflicts": (
        "wars, *war, krieg, kriege, kriegs*, *krieg, angriffskrieg*, guerre*, guerra*, wojna, wojny, wojn*, "
        "oorlog*, война, войны, войн*, military, militar*, militaire*, militari*, military aid, "
        "militarhilfe*, army, armies, armee*, armed forces, streitkrafte*, bundeswehr*, soldier*, soldat*, "
        "soldaten, troops, truppe*, truppen*, service member*, servicemen, navy, us navy, marine corps, air "
        "force, luftwaffe*, aircraft carrier*, warship*, kriegsschiff*, uss, fighter jet*, kampfjet*, "
        "panzer*, drone strike*, airstrike*, air strike*, luftangriff*, missile*, *rakete, raketenangriff*, "
        "bomb, bombs, bomb*, bombing*, bombard*, shelling, beschuss*, invasion*, invaded, ceasefire*, "
        "waffenstillstand*, waffenruhe*, armed conflict*, bewaffnete* konflikt*, frontline*, front line*, "
        "taliban, hamas, hezbollah, hisbollah, houthi*, isis, wagner group, pentagon, veteran*, war crimes, "
        "kriegsverbrech*, defence ministry, defense ministry, verteidigungsminister*, defense secretary, "
        "waffenlieferung*, drohne*, drone*, afghanistan, syria, syrien, ukraine-krieg*, ukraine war, krieg in "
        "der ukraine, gaza, militants, insurgent*, rebels, rebellen*, airstrike, 战争, 军事, warfare, wartime, "
        "the war, civil war, world war, at war, war on, war zone, anti-war, war-torn, postwar, warplane*, "
        "warlord*"
    ),
}

#: Phrases of page furniture: read as one unit and counted for no category, so that "privacy
#: policy" is not politics and "cookie settings" not baking.
BOILERPLATE = frozenset(
    """privacy policy, cookie policy, cookie settings, cookie notice, use cookies, uses cookies, we use cookies,
    terms of use, terms of service, terms and conditions, all rights reserved, datenschutzerklarung,
    datenschutz, cookie-einstellungen, nutzungsbedingungen, alle rechte vorbehalten, politique de confidentialite,
    politica de privacidad, mentions legales, aviso legal, impressum, sign up, log in, subscribe to our newsletter,
    newsletter abonnieren, read more, weiterlesen, mehr lesen""".replace("\n", " ").split(", ")
)

#: Words the taxonomy's own names bring that say too little on their own ("Auto Type", "Business
#: Operations", "Travel Type"): a node's name keeps them only inside a longer phrase.
GENERIC_NAME_WORDS = frozenset(
    """and or of the for to a an in on with other others general type types style styles life
    care services service industry industries business businesses issues affairs acts content
    media online events event sports sport shopping travel home personal children's men's women's
    family adult adults special interest sites site tours buying selling planning advice
    assistance supplies decorations decorating production quality environment environmental
    technology technologies computing finance financial culture entertainment games game
    society human individuals violations sensitive social health living living's applications arms bed bone
    brain classes cold conditions conflicts ear email eye field gas heart html information internet land maps
    mechanical national natural navigation nose options pool pop power productivity promotions running sales
    search shooting small soul study track van variety war watches world bath shower folk funk inspirational
    interests""".split()
)
