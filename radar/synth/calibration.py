"""The numbers the sample data is calibrated to.

Figures for 2019-20 (financial year 2019) are the Bromley Safeguarding Children
Partnership annual report 2019-20 ("Safeguarding Context in Bromley" and
"Progress in Bromley"); earlier years come from the comparisons the report makes
("2957 in 2018-19") and, for children in need and child protection, from the
DfE statistics in /work/shared/data/dfe (Open Government Licence v3).  Where
neither gives a figure the earlier years are plausible values consistent with
the report's direction of travel ("a significant decrease", "continues to rise").

Years are financial years keyed by their first calendar year (2019 = 2019-20).
Seasonal profiles run April to March.  This module is data only: the series
classes in `series.py` turn it into months.
"""

from __future__ import annotations

from radar.synth.series import FLAT, Flow, Ratio, Spec, Stock

# --- Seasonal profiles (April ... March) ---------------------------------------
# Contacts and the social-care work that follows them: a July peak, dips in the
# August and Christmas holidays.
CONTACT_LED = (0.93, 1.00, 1.04, 1.15, 0.86, 1.00, 1.06, 1.05, 0.88, 1.02, 0.98, 1.03)
# Anything schools drive: Easter, the summer and Christmas holidays are quiet.
SCHOOL_TERMS = (0.85, 1.05, 1.05, 0.95, 0.45, 1.05, 1.15, 1.15, 0.85, 1.10, 1.05, 1.10)
# Domestic abuse: summer evenings and the Christmas period are higher.
SUMMER_AND_CHRISTMAS = (0.95, 1.00, 1.05, 1.10, 1.08, 0.98, 0.97, 0.95, 1.04, 1.02, 0.88, 0.98)
# Going missing and sexual offences: more in the light evenings.
LIGHT_EVENINGS = (0.95, 1.00, 1.05, 1.12, 1.10, 1.00, 1.00, 0.95, 0.90, 0.95, 0.95, 1.00)
# Children missing education: rolls are cleaned at the end and start of the school year.
SCHOOL_ROLLS = (0.90, 0.90, 1.00, 1.40, 0.50, 1.50, 1.10, 1.00, 0.80, 1.00, 0.90, 1.00)
# Classroom training: no courses in August, few in December.
COURSES = (0.80, 1.10, 1.10, 0.90, 0.15, 1.10, 1.20, 1.20, 0.60, 1.10, 1.10, 1.10)
# E-learning: new school staff in September.
NEW_STAFF = (0.90, 1.00, 1.00, 0.90, 0.60, 1.40, 1.10, 1.10, 0.80, 1.10, 1.00, 1.00)
FAMILY_CENTRES = (0.95, 1.00, 1.00, 1.05, 0.95, 0.98, 1.02, 1.02, 0.85, 1.03, 1.02, 1.05)
# Board meetings: one seat per member at each quarter's meeting (quarterly feed).
QUARTER_ENDS = (0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0)

# Board seats filled per member in 2017-18, 2018-19 and 2019-20, out of four
# meetings; 2019-20 follows the report's attendance table (probation: NPS 50%
# and CRC 100%; schools: secondary 100% and primary 25%).
BOARD_QUARTERS_FILLED: dict[str, tuple[int, int, int]] = {
    "social_care": (3, 4, 3),
    "education": (3, 3, 3),
    "youth_offending": (3, 2, 2),
    "public_health": (4, 3, 4),
    "police": (3, 4, 4),
    "ccg": (4, 4, 4),
    "acute_trust": (3, 4, 4),
    "community_health": (4, 3, 4),
    "mental_health_trust": (3, 4, 4),
    "probation": (2, 3, 3),
    "cafcass": (2, 1, 1),
    "schools": (3, 2, 3),
    "voluntary_sector": (2, 3, 2),
    "substance_misuse": (1, 2, 2),
    "lay_members": (4, 4, 4),
}

# --- Aggregate returns: one entry per sent indicator (a dict = per breakdown value) ---
AGGREGATES: dict[str, Spec] = {
    # Children's social care
    "swa_completed": Flow({2017: 2600, 2018: 2957, 2019: 3588}, CONTACT_LED, 0.05),
    "swa_within_45_days": Ratio("swa_completed", {2017: 0.78, 2018: 0.81, 2019: 0.87}, 0.04),
    # DfE children in need at 31 March 2017-2020: 2294, 1862, 2338, 2419.
    "cin_open": Stock({"2017-04": 2280, "2018-03": 1862, "2019-03": 2338, "2020-03": 2419}, 0.012),
    "strategy_discussions": Flow({2017: 1250, 2018: 1420, 2019: 1166}, CONTACT_LED, 0.06),
    "s47_enquiries": Flow({2017: 900, 2018: 1050, 2019: 814}, CONTACT_LED, 0.06),
    # 446 in 2019-20 (5% up), monthly 22 (January 2020) to 49 (June 2019).
    "icpc_held": Flow({2017: 330, 2018: 425, 2019: 446}, FLAT, 0.07, {"2019-06": 49, "2020-01": 22}),
    "icpc_within_15_days": Ratio("icpc_held", {2017: 0.80, 2018: 0.84, 2019: 0.79}, 0.06),
    "icpc_to_plan": Ratio("icpc_held", {2017: 0.85, 2018: 0.86, 2019: 0.87}, 0.04),
    # DfE plans at 31 March 2017-2020: 342, 222, 244, 294 (2020: neglect 194, emotional abuse 95).
    "cpp_open": {
        "neglect": Stock({"2017-04": 190, "2018-03": 128, "2019-03": 150, "2020-03": 194}, 0.03),
        "emotional_abuse": Stock({"2017-04": 105, "2018-03": 70, "2019-03": 80, "2020-03": 95}, 0.03),
        "physical_abuse": Stock({"2017-04": 20, "2018-03": 12, "2019-03": 8, "2020-03": 2}, 0.10),
        "sexual_abuse": Stock({"2017-04": 12, "2018-03": 8, "2019-03": 4, "2020-03": 2}, 0.10),
        "multiple": Stock({"2017-04": 8, "2018-03": 4, "2019-03": 2, "2020-03": 1}, 0.10),
    },
    # DfE plans started and second or subsequent: 282/55, 353/56, 414/63.
    "cpp_started": Flow({2017: 282, 2018: 353, 2019: 414}, FLAT, 0.10),
    "cpp_second_subsequent": Ratio("cpp_started", {2017: 0.195, 2018: 0.159, 2019: 0.152}, 0.15),
    # Ended = started - change in plans open, so the year's flows and stocks agree.
    "cpp_ceased": Flow({2017: 402, 2018: 331, 2019: 364}, FLAT, 0.10),
    # 10 ended after two years or more in 2019-20, 12 the year before.
    "cpp_ceased_over_2y": Ratio("cpp_ceased", {2017: 0.030, 2018: 0.0363, 2019: 0.0275}, 0.5),
    "cla_open": Stock({"2017-04": 340, "2018-03": 345, "2019-03": 348, "2020-03": 331}, 0.01),
    "cla_uasc": Stock({"2017-04": 45, "2018-03": 48, "2019-03": 50, "2020-03": 22}, 0.04),
    "cla_3plus_placements": Stock({"2017-04": 36, "2018-03": 35, "2019-03": 35, "2020-03": 33}, 0.05),
    "cla_health_due": Flow({2017: 230, 2018: 240, 2019: 240}, FLAT, 0.15),
    "cla_health_on_time": Ratio("cla_health_due", {2017: 0.85, 2018: 0.88, 2019: 0.91}, 0.05),
    "adoptions": Flow({2017: 14, 2018: 10, 2019: 8}, FLAT, 1.0),
    "adoption_placements": Flow({2017: 22, 2018: 14, 2019: 9}, FLAT, 1.0),
    # Average days from care to adoptive placement: 374 in 2019-20.
    "adoption_days_total": Ratio("adoption_placements", {2017: 420, 2018: 395, 2019: 374}, 0.15),
    "care_leavers": Flow({2017: 150, 2018: 160, 2019: 169}, FLAT, 0.12),
    "care_leavers_in_touch": Ratio("care_leavers", {2017: 0.85, 2018: 0.84, 2019: 0.83}, 0.05),
    "care_leavers_eet": Ratio("care_leavers", {2017: 0.48, 2018: 0.50, 2019: 0.47}, 0.10),
    "care_leavers_suitable_accommodation": Ratio("care_leavers", {2017: 0.80, 2018: 0.80, 2019: 0.78}, 0.06),
    "private_fostering_notifications": Flow({2017: 21, 2018: 25, 2019: 29}, FLAT, 0.5),
    "private_fostering_open": Stock({"2017-04": 12, "2018-03": 11, "2019-03": 13, "2020-03": 10}, 0.12),
    "cwd_open": Stock({"2017-04": 350, "2018-03": 360, "2019-03": 370, "2020-03": 380}, 0.01),
    "mega_new_cases": Flow({2017: 55, 2018: 64, 2019: 73}, FLAT, 0.3),
    "serious_incident_notifications": Flow({2017: 4, 2018: 5, 2019: 4}, FLAT, 1.0),
    # Education: EHE rises through each academic year, peaks in July and falls
    # back in September (317 in July 2019, 314 in March 2020; 298 and 287 a year
    # earlier; 232 in 2017-18).  EHC plans 2544 at March 2020, 14% up.
    "ehe_registered": Stock({
        "2017-04": 218, "2017-07": 232, "2017-09": 210, "2018-03": 262, "2018-07": 298,
        "2018-09": 265, "2019-03": 287, "2019-07": 317, "2019-09": 290, "2020-03": 314,
    }, 0.01),
    "cme_referrals": {
        "schools": Flow({2017: 430, 2018: 450, 2019: 468}, SCHOOL_ROLLS, 0.08),
        "other_agencies": Flow({2017: 50, 2018: 55, 2019: 62}, FLAT, 0.25),
    },
    "ehcp_total": Stock({"2017-04": 1750, "2018-03": 2000, "2019-03": 2232, "2020-03": 2544}, 0.004),
    # Health
    "camhs_referrals_to_csc": Flow({2017: 84, 2018: 88, 2019: 86}, FLAT, 0.3),
    "camhs_children_seen": Flow({2017: 1020, 2018: 1040, 2019: 1030}, SCHOOL_TERMS, 0.06),
    "self_harm_attendances": Flow({2017: 220, 2018: 235, 2019: 240}, SCHOOL_TERMS, 0.2),
    # Police (MOPAC, June 2019 to May 2020)
    "da_offences": Flow({2017: 2850, 2018: 2950, 2019: 3037}, SUMMER_AND_CHRISTMAS, 0.04),
    "da_incidents": Flow({2017: 4500, 2018: 4650, 2019: 4776}, SUMMER_AND_CHRISTMAS, 0.04),
    "sexual_offences": Flow({2017: 460, 2018: 490, 2019: 506}, LIGHT_EVENINGS, 0.10),
    # Youth offending: 54 first-time entrants (29% down), 182 in the cohort of whom 37% reoffended.
    "first_time_entrants": Flow({2017: 80, 2018: 76, 2019: 54}, FLAT, 0.3),
    "reoffending_cohort": Flow({2017: 190, 2018: 188, 2019: 182}, FLAT, 0.2),
    "reoffenders": Ratio("reoffending_cohort", {2017: 0.41, 2018: 0.40, 2019: 0.37}, 0.15),
    "custodial_sentences": Flow({2017: 5, 2018: 3, 2019: 4}, FLAT, 1.0),
    # Probation: MAPPA at 31 March 2020 was 50, 64 and 1.
    "mappa_offenders": {
        "category_1": Stock({"2017-04": 46, "2018-03": 47, "2019-03": 49, "2020-03": 50}, 0.03),
        "category_2": Stock({"2017-04": 58, "2018-03": 60, "2019-03": 62, "2020-03": 64}, 0.03),
        "category_3": Stock({"2017-04": 2, "2018-03": 1, "2019-03": 1, "2020-03": 1}, 0.2),
    },
    "substance_misuse_referrals": Flow({2017: 170, 2018: 185, 2019: 221}, SCHOOL_TERMS, 0.15),
    # Early help: CAF logged rose in 2018-19 and fell in 2019-20; primary schools
    # write most, then social care, the children's project and secondary schools.
    "caf_logged": {
        "primary_school": Flow({2017: 270, 2018: 310, 2019: 275}, SCHOOL_TERMS, 0.10),
        "secondary_school": Flow({2017: 100, 2018: 115, 2019: 100}, SCHOOL_TERMS, 0.15),
        "social_care": Flow({2017: 125, 2018: 150, 2019: 130}, FLAT, 0.15),
        "children_project": Flow({2017: 110, 2018: 130, 2019: 115}, FLAT, 0.15),
        "early_years": Flow({2017: 20, 2018: 22, 2019: 18}, FLAT, 0.4),
        "health": Flow({2017: 18, 2018: 20, 2019: 17}, FLAT, 0.4),
        "other": Flow({2017: 55, 2018: 65, 2019: 60}, FLAT, 0.3),
    },
    # 94,709, 99,982 and 97,232 visits; centres closed mid-March 2020 (COVID-19).
    "family_centre_visits": Flow({2017: 94709, 2018: 99982, 2019: 97232}, FAMILY_CENTRES, 0.03,
                                 {"2020-03": 4300}),
    "idva_referrals": Flow({2017: 420, 2018: 440, 2019: 466}, FLAT, 0.12),
    "young_carers": Stock({"2017-04": 210, "2018-03": 230, "2019-03": 245, "2020-03": 260}, 0.02),
    # CDOP: 17 deaths in 2019-20, 11 expected and 6 unexpected.
    "child_deaths": {
        "expected": Flow({2017: 12, 2018: 10, 2019: 11}, FLAT, 1.0),
        "unexpected": Flow({2017: 5, 2018: 7, 2019: 6}, FLAT, 1.0),
    },
    # Training: e-learning 1489, 1896, 2370, 3179 modules (2016-17 to 2019-20);
    # 967 attended face-to-face training in 2019-20 (867 the year before), police
    # and health few; 48 no-shows.
    "elearning_completions": Flow({2016: 1489, 2017: 1896, 2018: 2370, 2019: 3179}, NEW_STAFF, 0.08),
    "training_attendance": {
        "social_care": Flow({2017: 380, 2018: 417, 2019: 485}, COURSES, 0.15),
        "police": Flow({2017: 6, 2018: 6, 2019: 2}, COURSES, 0.5),
        "health": Flow({2017: 90, 2018: 95, 2019: 167}, COURSES, 0.2),
        "education": Flow({2017: 160, 2018: 169, 2019: 196}, COURSES, 0.2),
        "early_years": Flow({2017: 80, 2018: 91, 2019: 54}, COURSES, 0.25),
        "voluntary": Flow({2017: 74, 2018: 78, 2019: 60}, COURSES, 0.25),
        "other": Flow({2017: 10, 2018: 11, 2019: 3}, COURSES, 0.5),
    },
    "training_no_shows": Flow({2017: 50, 2018: 55, 2019: 48}, COURSES, 0.3),
    "board_seats": {member: Flow({2019: 4}, QUARTER_ENDS, 0.0) for member in BOARD_QUARTERS_FILLED},
    "board_seats_filled": {
        member: Ratio("board_seats", {fy: q / 4 for fy, q in zip((2017, 2018, 2019), quarters, strict=True)}, 0.5)
        for member, quarters in BOARD_QUARTERS_FILLED.items()
    },
}

# --- Record feeds: monthly row counts ------------------------------------------
# MASH: 44% of contacts referred in 2018-19 and 2019-20 (53% October 2019, 33%
# March 2020); DfE referrals 2372, 3422 and 3829 give the yearly volumes.
# Missing: 633 return home interviews in 2019-20 (453 the year before).
RECORD_COUNTS: dict[str, Spec] = {
    "mash_contacts": Flow({2017: 6800, 2018: 7780, 2019: 8700}, CONTACT_LED, 0.04, {"2019-07": 870}),
    "mash_referrals": Ratio("mash_contacts", {2017: 0.35, 2018: 0.44, 2019: 0.44}, 0.05,
                            {"2019-10": 0.53, "2020-03": 0.33}),
    "missing_episodes": Flow({2017: 780, 2018: 840, 2019: 900}, LIGHT_EVENINGS, 0.08),
    "rhi_offered": Ratio("missing_episodes", {2017: 0.75, 2018: 0.82, 2019: 0.90}, 0.04),
    # completed out of offered: 380 of 585, 453 of 689, 633 of 810
    "rhi_completed": Ratio("rhi_offered", {2017: 380 / 585, 2018: 453 / 689, 2019: 633 / 810}, 0.05),
    "lado_referrals": Flow({2017: 195, 2018: 204, 2019: 206}, SCHOOL_TERMS, 0.2),
}

# --- Record feeds: who and what --------------------------------------------------
MASH_SOURCES = {"police": 0.43, "health": 0.19, "schools": 0.14, "la_services": 0.11, "individual": 0.08,
                "other": 0.05}
# Schools' contacts by month (mean 1): Easter, summer and Christmas holidays are low.
SCHOOL_CONTACTS = (0.70, 1.10, 1.10, 1.00, 0.25, 1.15, 1.15, 1.15, 0.75, 1.15, 1.15, 1.25)
# What happens to the contacts that are not referred to social care.
MASH_OTHER_OUTCOMES = {"early_help": 0.35, "advice_information": 0.40, "no_further_action": 0.25}
# Contacts are mostly about children already known: a pool of case-system
# references with uneven (log-normal) chances of a contact.
CHILD_POOL = 16_000
# Children who go missing: a small pool, looked-after children more often.
MISSING_POOL = 450
LOOKED_AFTER_SHARE = 0.4
# Days until the child returned; None = still missing when the file was made.
RETURN_AFTER_DAYS = {0: 0.40, 1: 0.33, 2: 0.10, 3: 0.05, 5: 0.05, 10: 0.05, None: 0.02}

# LADO: mostly schools and early years.
SETTINGS = {"school": 100, "early_years": 180, "health": 30, "residential_care": 20, "foster_care": 60,
            "sports_leisure": 50, "faith": 30, "other": 30}
LADO_SETTINGS = {"school": 0.42, "early_years": 0.22, "health": 0.06, "residential_care": 0.05,
                 "foster_care": 0.09, "sports_leisure": 0.07, "faith": 0.03, "other": 0.06}
LADO_ALLEGATIONS = {"physical": 0.42, "sexual": 0.20, "emotional": 0.14, "neglect": 0.10, "suitability": 0.14}
LADO_OUTCOMES = {"substantiated": 0.18, "unsubstantiated": 0.30, "unfounded": 0.27, "malicious": 0.03,
                 "ongoing": 0.22}
