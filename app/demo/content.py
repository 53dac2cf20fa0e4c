"""Demo content for Groundswell: the fictional "Kestrel Computing" support community.

Pure data, written from scratch for this project. Every vendor, product, person,
firmware version and URL below is made up. ``validate()`` at the bottom checks
the structural rules the demo seeder relies on.
"""

from __future__ import annotations

from typing import Any

# --------------------------------------------------------------------------- #
# Products
# --------------------------------------------------------------------------- #

PRODUCTS: list[dict[str, Any]] = [
    {
        "slug": "aero-14",
        "name": "Kestrel Aero 14",
        "description": "A 1.2 kg thin-and-light 14\" laptop with Intel Wi-Fi 6E, Thunderbolt 4 and an optional OLED panel.",
    },
    {
        "slug": "forge-tower",
        "name": "Kestrel Forge Tower",
        "description": "A gaming and workstation desktop with a 750 W ATX 3.0 power supply and room for full-size graphics cards.",
    },
    {
        "slug": "dock-pro",
        "name": "Kestrel Dock Pro",
        "description": "A Thunderbolt 4 / USB-C dock with 96 W laptop charging, dual display outputs, 2.5 GbE and a 3.5 mm audio jack.",
    },
    {
        "slug": "halo-mesh",
        "name": "Kestrel Halo Mesh",
        "description": "A tri-band Wi-Fi 6E mesh router system sold in 2- and 3-packs, managed from the Halo mobile app.",
    },
    {
        "slug": "vista-27",
        "name": "Kestrel Vista 27",
        "description": "A 27\" 4K 144 Hz IPS monitor with DisplayHDR 600, a USB-C input with 90 W power delivery and a built-in KVM.",
    },
    {
        "slug": "companion-app",
        "name": "Kestrel Companion",
        "description": "The Windows desktop utility for Kestrel devices: firmware and driver updates, fan profiles and battery care.",
    },
]

# --------------------------------------------------------------------------- #
# Users
# --------------------------------------------------------------------------- #

USERS: list[dict[str, Any]] = [
    {
        "username": "admin",
        "email": "admin@kestrel.example",
        "role": "admin",
        "display_name": "Community Admin",
        "bio": "Keeps the lights on for the Kestrel community forum.",
    },
    # -- staff ------------------------------------------------------------ #
    {
        "username": "lena_kestrel",
        "email": "lena@kestrel.example",
        "role": "staff",
        "display_name": "Lena (Kestrel Support)",
        "bio": "Support lead for docks and networking. I read every thread, even when I don't reply.",
    },
    {
        "username": "tomas_kestrel",
        "email": "tomas@kestrel.example",
        "role": "staff",
        "display_name": "Tomas (Kestrel Support)",
        "bio": "Desktop and firmware support engineer. Ask me about BIOS versions.",
    },
    {
        "username": "priya_kestrel",
        "email": "priya@kestrel.example",
        "role": "staff",
        "display_name": "Priya (Kestrel Support)",
        "bio": "Laptops, displays and warranty. Formerly on the repair bench, now on the forum.",
    },
    # -- moderator -------------------------------------------------------- #
    {
        "username": "sofia_mod",
        "email": "sofia.mod@example.com",
        "role": "moderator",
        "display_name": "Sofia",
        "bio": "Volunteer moderator. Please add the product and firmware version to your question, it helps a lot.",
    },
    # -- customers -------------------------------------------------------- #
    {
        "username": "raj_builds",
        "email": "raj.builds@example.com",
        "role": "customer",
        "display_name": "Raj",
        "bio": "IT contractor. Three Aero 14s and a drawer full of USB-C cables. Happy to help with laptops and docks.",
    },
    {
        "username": "maya",
        "email": "maya@example.com",
        "role": "customer",
        "display_name": "Maya",
        "bio": "Freelance translator working from home on an Aero 14.",
    },
    {
        "username": "netwrangler",
        "email": "netwrangler@example.com",
        "role": "customer",
        "display_name": "Net Wrangler",
        "bio": "Network engineer by day, home-lab tinkerer by night. Mostly here for the Halo Mesh threads.",
    },
    {
        "username": "pixelpeeper",
        "email": "pixelpeeper@example.com",
        "role": "customer",
        "display_name": "PixelPeeper",
        "bio": "Monitor nerd. I own a colorimeter and I'm not afraid to use it.",
    },
    {
        "username": "gus_grumbles",
        "email": "gus@example.com",
        "role": "customer",
        "display_name": "Gus",
        "bio": "Been fixing computers since before USB. Short answers, usually right.",
    },
    {
        "username": "tuxfan_ingrid",
        "email": "ingrid@example.com",
        "role": "customer",
        "display_name": "Ingrid",
        "bio": "Linux on everything. Currently Ubuntu on the Aero 14 and Arch on the spare.",
    },
    {
        "username": "newbie_noah",
        "email": "noah@example.com",
        "role": "customer",
        "display_name": "Noah",
        "bio": "Student, first 'real' computer setup. Learning as I go!",
    },
    {
        "username": "carla_m",
        "email": "carla.m@example.com",
        "role": "customer",
        "display_name": "Carla M.",
        "bio": "Architect. Forge Tower for rendering, Aero 14 for site visits.",
    },
    {
        "username": "dev_dmitri",
        "email": "dmitri@example.com",
        "role": "customer",
        "display_name": "Dmitri",
        "bio": "Backend developer. Fedora on the laptop, too many containers on the home server.",
    },
    {
        "username": "hana_photo",
        "email": "hana@example.com",
        "role": "customer",
        "display_name": "Hana",
        "bio": "Wedding and portrait photographer. Color accuracy matters to me more than frame rates.",
    },
    {
        "username": "old_school_bert",
        "email": "bert@example.com",
        "role": "customer",
        "display_name": "Bert",
        "bio": "Retired electrician. Careful with power, careful with firmware.",
    },
    {
        "username": "jules_streams",
        "email": "jules@example.com",
        "role": "customer",
        "display_name": "Jules",
        "bio": "Part-time streamer on a Forge Tower, travel laptop is an Aero 14.",
    },
    {
        "username": "kwame_a",
        "email": "kwame@example.com",
        "role": "customer",
        "display_name": "Kwame A.",
        "bio": "Data analyst. I research everything before I buy it, then ask here anyway.",
    },
    {
        "username": "fiona_travels",
        "email": "fiona@example.com",
        "role": "customer",
        "display_name": "Fiona",
        "bio": "Consultant, on the road four days a week. My laptop lives in hotel rooms and on trains.",
    },
    {
        "username": "marco_dev",
        "email": "marco@example.com",
        "role": "customer",
        "display_name": "Marco",
        "bio": "Mobile developer. Windows at home, macOS at work, a Dock Pro in between.",
    },
    {
        "username": "elif_k",
        "email": "elif.k@example.com",
        "role": "customer",
        "display_name": "Elif K.",
        "bio": "Grad student in Toronto. Writing a thesis, fighting with hardware.",
    },
    {
        "username": "benji_plays",
        "email": "benji@example.com",
        "role": "customer",
        "display_name": "Benji",
        "bio": "Gamer. Fast fingers, faster opinions.",
    },
    {
        "username": "ruth_ledger",
        "email": "ruth@example.com",
        "role": "customer",
        "display_name": "Ruth",
        "bio": "Bookkeeper running a small home office. I just want things to work.",
    },
    {
        "username": "zed_overclock",
        "email": "zed@example.com",
        "role": "customer",
        "display_name": "Zed",
        "bio": "Overclocker and benchmark enthusiast. Not every tip of mine is warranty-friendly, you've been warned.",
    },
]

# --------------------------------------------------------------------------- #
# Questions, answers and comments
# --------------------------------------------------------------------------- #

QUESTIONS: list[dict[str, Any]] = [
    # ======================================================================= #
    # Kestrel Aero 14
    # ======================================================================= #
    {
        "product": "aero-14",
        "author": "maya",
        "title": "Aero 14 Wi-Fi drops every few minutes since the Companion driver update (Intel AX211 23.40)",
        "body": (
            "Since Companion installed the *Wireless driver 23.40* update last week, my Aero 14 loses Wi-Fi every 5-10 minutes.\n"
            "The icon shows **No internet**, then it reconnects by itself after about 30 seconds. My phone and TV on the same network are fine.\n"
            "\n"
            "- Aero 14, BIOS 1.12, Windows 11 23H2\n"
            "- ISP router, 5 GHz band\n"
            "\n"
            "I already restarted the router and tried *Forget network*. Anything else before I reset Windows?"
        ),
        "tags": ["wifi", "windows-11", "drivers"],
        "days_ago": 9,
        "votes": 8,
        "answers": [
            {
                "author": "raj_builds",
                "body": (
                    "This is the 23.40 package, not your router. It enables aggressive MIMO power saving on the AX211 and some routers don't cope with it.\n"
                    "\n"
                    "1. Device Manager → *Network adapters* → **Intel Wi-Fi 6E AX211** → Properties.\n"
                    "2. *Driver* tab → **Roll Back Driver** (goes back to 23.20). If it's greyed out, get 23.20 from the Kestrel downloads page.\n"
                    "3. *Advanced* tab → set `MIMO Power Save Mode` to **No SMPS**.\n"
                    "4. *Power Management* tab → untick *Allow the computer to turn off this device*.\n"
                    "\n"
                    "Then in Companion → Updates, right-click the Wi-Fi driver entry and choose **Hide this update** so it doesn't come back overnight."
                ),
                "hours_after": 3,
                "votes": 14,
                "accepted": True,
            },
            {
                "author": "lena_kestrel",
                "body": (
                    "Thanks for the report, Maya. We've reproduced disconnects with driver 23.40 on some 5 GHz routers and have paused it in Companion.\n"
                    "A fixed package (23.60) is in testing now. Until it ships, rolling back to 23.20 as described above is the recommended workaround."
                ),
                "hours_after": 20,
                "votes": 5,
                "accepted": False,
            },
            {
                "author": "netwrangler",
                "body": (
                    "If you want to confirm it's the adapter and not interference, run this right after a drop:\n"
                    "\n"
                    "```\n"
                    "netsh wlan show wlanreport\n"
                    "```\n"
                    "\n"
                    "Open the HTML report (the path is printed at the end). If the disconnect reason mentions the driver powering down, it's the power-saving bug."
                ),
                "hours_after": 6,
                "votes": 6,
                "accepted": False,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Honestly I'd just reset Windows, it fixed all my Wi-Fi problems last time.\n"
                    "Settings → System → Recovery → Reset this PC."
                ),
                "hours_after": 26,
                "votes": -2,
                "accepted": False,
            },
            {
                "author": "kwame_a",
                "body": (
                    "Same issue here on 23.40. Setting `Roaming Aggressiveness` to **Lowest** in the adapter's Advanced tab helped a little,\n"
                    "but the rollback is what actually fixed it for me."
                ),
                "hours_after": 40,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "maya", "body": "Update: rolled back to 23.20 and set No SMPS. Zero drops in two days of video calls. Thank you!", "on": "question"},
            {"author": "gus_grumbles", "body": "Resetting the whole OS for a driver regression is a bit much. Try the rollback first.", "on": 3},
        ],
    },
    {
        "product": "aero-14",
        "author": "fiona_travels",
        "title": "Battery Care 80% charge limit resets to 100% after every restart",
        "body": (
            "I keep my Aero 14 plugged in at hotels most of the week, so I turned on **Battery Care (80%)** in Companion.\n"
            "It works until I reboot, then the laptop charges to 100% again while Companion still shows the toggle as ON.\n"
            "\n"
            "Companion 3.2.1, BIOS 1.12. Is this a known bug?"
        ),
        "tags": ["battery", "bios", "companion"],
        "days_ago": 34,
        "votes": 6,
        "answers": [
            {
                "author": "priya_kestrel",
                "body": (
                    "On BIOS 1.12 the limit is only enforced by the Companion service, so Fast Startup or anything that runs before the service can reset it.\n"
                    "\n"
                    "BIOS **1.14** stores the limit in the embedded controller, so it survives reboots and works even with Companion closed:\n"
                    "\n"
                    "1. Companion → Updates → install BIOS 1.14 (connect the charger first).\n"
                    "2. Re-apply the 80% setting once after the update.\n"
                    "\n"
                    "You can confirm it in BIOS setup → *Power* → *Battery Charge Limit*."
                ),
                "hours_after": 5,
                "votes": 6,
                "accepted": True,
            },
            {
                "author": "raj_builds",
                "body": (
                    "Also check the Companion service isn't disabled. A lot of \"debloat\" scripts turn it off:\n"
                    "\n"
                    "```\n"
                    "sc query KestrelCompanionSvc\n"
                    "```\n"
                    "\n"
                    "If `STATE` isn't `RUNNING`, run `sc config KestrelCompanionSvc start= auto` from an admin prompt and start it. That was exactly my problem."
                ),
                "hours_after": 7,
                "votes": 9,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "fiona_travels", "body": "Update: I had run a debloat script last month and the service was disabled. Re-enabled it and installed BIOS 1.14, the limit sticks now.", "on": "question"},
        ],
    },
    {
        "product": "aero-14",
        "author": "tuxfan_ingrid",
        "title": "Ubuntu 24.04 on Aero 14: suspend drains ~15% overnight, only s2idle available",
        "body": (
            "Fresh Ubuntu 24.04 install, kernel 6.8. Lid closed overnight loses 15-18% battery; Windows on the same machine loses about 3%.\n"
            "\n"
            "```\n"
            "$ cat /sys/power/mem_sleep\n"
            "[s2idle]\n"
            "```\n"
            "\n"
            "No `deep` option in the list. Is there a BIOS toggle for S3, or is something keeping the CPU out of its low-power state?"
        ),
        "tags": ["linux", "ubuntu", "suspend", "battery"],
        "days_ago": 52,
        "votes": 11,
        "answers": [
            {
                "author": "dev_dmitri",
                "body": (
                    "There's no S3 on this platform, it's Modern Standby only, so s2idle is correct. The question is whether you reach S0ix:\n"
                    "\n"
                    "```\n"
                    "sudo cat /sys/kernel/debug/pmc_core/slp_s0_residency_usec\n"
                    "```\n"
                    "\n"
                    "Read it, suspend for a few minutes, read it again. If it didn't increase, a device is blocking S0ix. On my unit it was the SD card reader:\n"
                    "\n"
                    "```\n"
                    "echo auto | sudo tee /sys/bus/pci/devices/0000:2c:00.0/power/control\n"
                    "```\n"
                    "\n"
                    "(Find your address with `lspci | grep -i card`.) With that I lose about 4% overnight."
                ),
                "hours_after": 9,
                "votes": 12,
                "accepted": True,
            },
            {
                "author": "raj_builds",
                "body": (
                    "Make sure you're on BIOS 1.14 too. Its changelog mentions improved Modern Standby power consumption,\n"
                    "and it made a visible difference on Windows for me. Probably helps on Linux as well."
                ),
                "hours_after": 30,
                "votes": 4,
                "accepted": False,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "Just use hibernate instead of suspend, problem solved.\n"
                    "`systemctl hibernate`"
                ),
                "hours_after": 50,
                "votes": 0,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "tuxfan_ingrid", "body": "Update: the card reader was the culprit here too. Added a udev rule so it persists, now about 5% overnight.", "on": "question"},
            {"author": "dev_dmitri", "body": "Hibernate is blocked by kernel lockdown when Secure Boot is on, so that's not a drop-in fix on Ubuntu.", "on": 2},
        ],
    },
    {
        "product": "aero-14",
        "author": "newbie_noah",
        "title": "How do I make the keyboard backlight stay on longer than 15 seconds?",
        "body": (
            "Hi all, first Kestrel laptop! The keyboard light on my Aero 14 turns off after about 15 seconds if I don't type.\n"
            "I mostly use it in the evening and keep pressing a key just to see the keys lol. Is there a setting somewhere?"
        ),
        "tags": ["keyboard", "backlight"],
        "days_ago": 18,
        "votes": 3,
        "answers": [
            {
                "author": "gus_grumbles",
                "body": (
                    "It's in Companion, not in Windows settings, because of course it is.\n"
                    "\n"
                    "Companion → **Device** → **Keyboard** → *Backlight timeout*. Options are 15 s, 30 s, 1 min, 5 min and *Never on AC*.\n"
                    "`Fn` + `Space` cycles the brightness. Without Companion, the same timeout is in BIOS setup under *Advanced* → *Keyboard Backlight Timeout*."
                ),
                "hours_after": 2,
                "votes": 8,
                "accepted": True,
            },
            {
                "author": "fiona_travels",
                "body": (
                    "Heads up: leaving it always on when on battery costs some runtime.\n"
                    "I use 1 min on battery and *Never on AC*."
                ),
                "hours_after": 5,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "newbie_noah", "body": "Update: found it under Device > Keyboard, set it to Never on AC. Thanks everyone!", "on": "question"},
        ],
    },
    {
        "product": "aero-14",
        "author": "carla_m",
        "title": "BIOS 1.14 update fails with \"Error 0x0E: Battery level insufficient\" at 100% charge",
        "body": (
            "Trying to install BIOS 1.14 from Companion on my Aero 14. It reboots into the flasher and stops with:\n"
            "\n"
            "```\n"
            "Kestrel Firmware Update v2.3\n"
            "Error 0x0E: Battery level insufficient. Connect AC adapter.\n"
            "```\n"
            "\n"
            "The battery is at 100% and the laptop IS plugged in (through my Dock Pro). Then it boots back into Windows on 1.12."
        ),
        "tags": ["bios", "firmware", "battery"],
        "days_ago": 27,
        "votes": 9,
        "answers": [
            {
                "author": "raj_builds",
                "body": (
                    "The message is misleading. The flasher checks that a charger of **at least 45 W is connected directly**, not the battery percentage.\n"
                    "\n"
                    "Behind the Dock Pro the laptop sees a power source through a hub and the check fails.\n"
                    "Undock, plug the original 65 W charger straight into the laptop's left USB-C port and run the update again. Took 4 minutes for me."
                ),
                "hours_after": 2,
                "votes": 13,
                "accepted": True,
            },
            {
                "author": "priya_kestrel",
                "body": (
                    "Raj is right, this is the AC detection check. If Companion keeps failing, you can also flash from a USB stick:\n"
                    "\n"
                    "1. Format a stick as FAT32 and copy `KAERO114.BIN` from the BIOS download to the root.\n"
                    "2. Reboot, press `F2` → *Update* → *Update from USB*.\n"
                    "\n"
                    "Keep the 65 W adapter connected and the lid open during the update. We'll make the error text clearer in the next flasher release."
                ),
                "hours_after": 6,
                "votes": 6,
                "accepted": False,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "Run the flasher from the command line with `/force` and it skips the battery check.\n"
                    "Did it on my old laptop, no problem."
                ),
                "hours_after": 9,
                "votes": -3,
                "accepted": False,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "Not your issue here, but in general: don't flash with the battery below 30% even when a charger is connected.\n"
                    "If the plug gets bumped mid-flash you want some reserve."
                ),
                "hours_after": 20,
                "votes": 3,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "old_school_bert", "body": "Please don't. If power drops with the check skipped you can brick the controller, and that's a board swap.", "on": 2},
            {"author": "carla_m", "body": "Update: direct charger worked, I'm on 1.14 now. Thanks Raj!", "on": "question"},
        ],
    },
    {
        "product": "aero-14",
        "author": "kwame_a",
        "title": "Aero 14 fan spins up loudly while just browsing (BIOS 1.12, Performance profile)",
        "body": (
            "The fan on my Aero 14 goes to what sounds like full speed every minute or so, with only Firefox and Spotify open.\n"
            "CPU temperature jumps to ~85 °C for a few seconds, then drops. Companion profile is *Performance*. Is this normal for this chassis?"
        ),
        "tags": ["fan-noise", "thermals"],
        "days_ago": 44,
        "votes": 5,
        "answers": [
            {
                "author": "raj_builds",
                "body": (
                    "The Performance profile is the issue. It lets the CPU boost to its full 45 W limit in short bursts, so every page load spikes the temperature and the fan reacts.\n"
                    "\n"
                    "- Switch Companion → *Fan & Power* to **Balanced** (28 W) or **Quiet** (15 W) for everyday use.\n"
                    "- Update to BIOS 1.14; it adds hysteresis to the fan curve so it stops chasing short spikes.\n"
                    "\n"
                    "You lose maybe 5% in long renders on Balanced and nothing noticeable in a browser."
                ),
                "hours_after": 4,
                "votes": 10,
                "accepted": False,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "Check Task Manager before blaming the fan curve.\n"
                    "Search indexing and Defender scans after a fresh install will keep the CPU busy for a day or two."
                ),
                "hours_after": 3,
                "votes": 5,
                "accepted": False,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "Power plan → advanced settings → *Processor power management* → *Maximum processor state* = 99%.\n"
                    "That disables turbo boost. Crude, but the fan basically never ramps."
                ),
                "hours_after": 12,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "hana_photo",
                "body": (
                    "Same here: BIOS 1.14 plus Balanced made it much quieter.\n"
                    "Quiet mode is too slow for my Lightroom exports though, so I switch to Performance only for those."
                ),
                "hours_after": 30,
                "votes": 1,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "raj_builds", "body": "The 99% trick works, but you'll feel it in anything bursty. Balanced gets you most of the same effect.", "on": 2},
        ],
    },
    {
        "product": "aero-14",
        "author": "elif_k",
        "title": "Touchpad stops responding after waking from sleep, only a reboot fixes it",
        "body": (
            "About half the time after opening the lid, the touchpad on my Aero 14 doesn't react at all. Keyboard and an external mouse work.\n"
            "Disabling and re-enabling it in Device Manager doesn't help, only a full restart. Windows 11, all updates installed."
        ),
        "tags": ["touchpad", "windows-11", "sleep"],
        "days_ago": 61,
        "votes": 4,
        "answers": [
            {
                "author": "marco_dev",
                "body": (
                    "Sounds like the I2C controller isn't coming back from low power. Two things fixed it for me:\n"
                    "\n"
                    "1. Device Manager → *Human Interface Devices* → **I2C HID Device** → *Power Management* → untick *Allow the computer to turn off this device*.\n"
                    "2. Reinstall the **Serial IO** driver from Companion → Drivers. It's separate from the touchpad driver and often gets skipped.\n"
                    "\n"
                    "Reboot once after both."
                ),
                "hours_after": 7,
                "votes": 7,
                "accepted": True,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Did you maybe hit `Fn` + `F6` by accident?\n"
                    "That toggles the touchpad off, got me twice."
                ),
                "hours_after": 2,
                "votes": 1,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "aero-14",
        "author": "hana_photo",
        "title": "Aero 14 OLED: is it safe to leave Lightroom open for hours? Worried about burn-in",
        "body": (
            "I edit photos 6-8 hours a day on the OLED Aero 14. The Lightroom panels and the taskbar are static the whole time.\n"
            "Is burn-in a realistic risk, and does Kestrel do anything to prevent it?"
        ),
        "tags": ["display", "oled"],
        "days_ago": 70,
        "votes": 7,
        "answers": [
            {
                "author": "pixelpeeper",
                "body": (
                    "At those hours it's a real risk, but easy to reduce:\n"
                    "\n"
                    "- Turn on **Panel Care** in Companion → Display. It runs a pixel refresh while the laptop is off and charging (about 6 minutes, don't unplug).\n"
                    "- Auto-hide the taskbar and keep Lightroom on a dark theme.\n"
                    "- Set the screen to turn off after 5 minutes idle.\n"
                    "- Keep brightness around 60-70%; wear scales with drive level.\n"
                    "\n"
                    "Panel Care also does a tiny pixel shift you won't notice."
                ),
                "hours_after": 5,
                "votes": 9,
                "accepted": False,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "I had an OLED phone with a burned-in navigation bar after three years of heavy use.\n"
                    "Laptops get less static use than people think, but hiding the taskbar is the one that matters."
                ),
                "hours_after": 20,
                "votes": 3,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "gus_grumbles", "body": "Also read the warranty terms for OLED models before worrying too much. Burn-in coverage differs by region.", "on": "question"},
        ],
    },
    {
        "product": "aero-14",
        "author": "ruth_ledger",
        "title": "Aero 14 won't power on at all: no lights, charger LED is white",
        "body": (
            "My Aero 14 was working fine yesterday. This morning nothing: no power LED, no fan, no keyboard light.\n"
            "The charger's LED is white, but the charging light next to the port doesn't come on. Tried two different outlets.\n"
            "Is there a reset button, or should I start an RMA?"
        ),
        "tags": ["power", "rma"],
        "days_ago": 0,
        "votes": 1,
        "answers": [],
        "comments": [
            {"author": "gus_grumbles", "body": "Unplug the charger and hold the power button for 40 seconds, then plug in and try again. That resets the embedded controller.", "on": "question"},
        ],
    },
    {
        "product": "aero-14",
        "author": "old_school_bert",
        "title": "Webcam shows a black image in Teams and Zoom but works in the Camera app",
        "body": (
            "The built-in webcam on my Aero 14 works in the Windows Camera app, but Teams and Zoom only show a black square. The camera light turns on.\n"
            "Camera permission is on in Settings → Privacy → Camera. Any ideas?"
        ),
        "tags": ["webcam", "windows-11", "privacy"],
        "days_ago": 84,
        "votes": 2,
        "answers": [
            {
                "author": "dev_dmitri",
                "body": (
                    "Scroll to the bottom of the Camera privacy page and check *Let desktop apps access your camera*. Zoom and classic Teams are desktop apps, and that toggle is separate from the per-app list.\n"
                    "If it's already on, close the Windows Camera app completely; some drivers only let one app hold the stream at a time."
                ),
                "hours_after": 10,
                "votes": 5,
                "accepted": False,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "Also check the camera privacy shortcut: `Fn` + `F10` blanks the image electronically but leaves the light on.\n"
                    "Yes, I know, confusing."
                ),
                "hours_after": 24,
                "votes": 3,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    # ======================================================================= #
    # Kestrel Forge Tower
    # ======================================================================= #
    {
        "product": "forge-tower",
        "author": "jules_streams",
        "title": "Forge Tower random reboots while gaming, Event ID 41 (Kernel-Power) every time",
        "body": (
            "My Forge Tower (RTX 4070 Ti config) hard reboots 20-60 minutes into games. No blue screen, just an instant restart.\n"
            "\n"
            "```\n"
            "Source: Microsoft-Windows-Kernel-Power\n"
            "Event ID: 41\n"
            "BugcheckCode: 0\n"
            "```\n"
            "\n"
            "Temps look fine (GPU 72 °C, CPU 80 °C). BIOS F.07, stock settings, no overclock."
        ),
        "tags": ["stability", "power", "windows-11", "gpu"],
        "days_ago": 23,
        "votes": 10,
        "answers": [
            {
                "author": "zed_overclock",
                "body": (
                    "BugcheckCode 0 with no dump means the system lost power, so think power delivery, not drivers.\n"
                    "\n"
                    "1. Open the side panel and check the GPU's 12VHPWR connector is fully seated (no visible gap at the latch).\n"
                    "2. Make sure the memory profile (XMP) is **off** while testing.\n"
                    "3. Run OCCT's *Power* test for 20 minutes. If it reboots there too, it's the PSU and you should open an RMA."
                ),
                "hours_after": 3,
                "votes": 12,
                "accepted": True,
            },
            {
                "author": "tomas_kestrel",
                "body": (
                    "Please update to BIOS **F.08** first. It raises a VRM over-current threshold that could trigger restarts on short GPU power spikes.\n"
                    "If it still happens on F.08 with stock settings, run *Companion → Diagnostics → Power* and open a ticket with the report attached; we'll arrange a PSU replacement."
                ),
                "hours_after": 8,
                "votes": 6,
                "accepted": False,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Do a clean GPU driver install with DDU in safe mode.\n"
                    "Fixed my crashes once."
                ),
                "hours_after": 5,
                "votes": 1,
                "accepted": False,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "Check the wall side too. I had the same symptom with a cheap surge-protected power strip that tripped on load spikes.\n"
                    "Plug the tower directly into the wall as a test."
                ),
                "hours_after": 48,
                "votes": 4,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "jules_streams", "body": "Update: the 12VHPWR plug wasn't fully clicked in after shipping. Reseated it and flashed F.08. Six hours of gaming, no reboot.", "on": "question"},
        ],
    },
    {
        "product": "forge-tower",
        "author": "zed_overclock",
        "title": "Where is the XMP / memory profile setting in Forge Tower BIOS F.07?",
        "body": (
            "Installed a 2x32 GB DDR5-6000 kit in my Forge Tower. It runs at 4800 and I can't find XMP or EXPO anywhere in BIOS F.07.\n"
            "Is memory overclocking locked on these, or is it hidden somewhere?"
        ),
        "tags": ["bios", "memory", "overclocking"],
        "days_ago": 40,
        "votes": 4,
        "answers": [
            {
                "author": "tomas_kestrel",
                "body": (
                    "It's not locked, just hidden behind Advanced Mode:\n"
                    "\n"
                    "1. In BIOS setup press `F7` to switch to **Advanced Mode**.\n"
                    "2. *Tweaker* → *Memory Profile* → select **Profile 1** (XMP) and save with `F10`.\n"
                    "\n"
                    "The first boot after enabling it takes 1-2 minutes for memory training with a black screen, so don't power off.\n"
                    "Enabling a memory profile does not void the warranty."
                ),
                "hours_after": 6,
                "votes": 7,
                "accepted": True,
            },
            {
                "author": "kwame_a",
                "body": (
                    "If it won't train at 6000, try 5600 manually with the XMP timings.\n"
                    "Took mine a couple of tries before it was stable."
                ),
                "hours_after": 10,
                "votes": 3,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "zed_overclock", "body": "Update: Profile 1 works, 6000 CL30 passed a night of memtest.", "on": "question"},
        ],
    },
    {
        "product": "forge-tower",
        "author": "benji_plays",
        "title": "Front headphone jack crackles and buzzes when the GPU is under load",
        "body": (
            "Whenever I'm in a game, the front panel headphone jack on my Forge Tower buzzes, and the noise changes with what's on screen and when I move the mouse.\n"
            "The rear jack is quieter but not totally clean. The headphones are fine on my phone."
        ),
        "tags": ["audio", "gpu"],
        "days_ago": 57,
        "votes": 6,
        "answers": [
            {
                "author": "jules_streams",
                "body": (
                    "That's electrical noise from the GPU getting into the analog audio path. What helped me:\n"
                    "\n"
                    "- Route the front panel audio cable (`HD_AUDIO`) away from the GPU power cables; on the Forge it's tied right next to them from the factory.\n"
                    "- Sound settings → output format 24-bit 48000 Hz, and turn off audio enhancements.\n"
                    "- Best fix: a cheap USB DAC or headphone adapter bypasses the onboard audio entirely."
                ),
                "hours_after": 9,
                "votes": 8,
                "accepted": False,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "Noise that changes with mouse movement is classic interference coupling.\n"
                    "A 10-dollar USB DAC is the honest answer. Onboard audio next to a 285 W graphics card is never going to be studio clean."
                ),
                "hours_after": 24,
                "votes": 4,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "forge-tower",
        "author": "dev_dmitri",
        "title": "Forge Tower RGB keeps cycling rainbow after shutdown, how do I turn it off in S5?",
        "body": (
            "The front fan LEDs and the logo keep cycling rainbow colors after I shut down the PC. It's in my bedroom, so this is pretty annoying.\n"
            "Lighting is set to Off in Companion while Windows runs, but after shutdown it goes back to rainbow."
        ),
        "tags": ["rgb", "bios"],
        "days_ago": 95,
        "votes": 5,
        "answers": [
            {
                "author": "zed_overclock",
                "body": (
                    "After shutdown the lighting is controlled by the motherboard, not Companion. In BIOS setup (Advanced Mode, `F7`):\n"
                    "\n"
                    "- *Settings* → *Onboard Devices* → **LED in S5** → Off\n"
                    "- *Power* → **ErP Ready** → Enabled (cuts standby power to USB and LEDs)\n"
                    "\n"
                    "Note that ErP also disables Wake-on-LAN and USB charging while the PC is off."
                ),
                "hours_after": 5,
                "votes": 7,
                "accepted": False,
            },
            {
                "author": "carla_m",
                "body": (
                    "Or a switched power strip :)\n"
                    "The BIOS option is nicer though."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "forge-tower",
        "author": "marco_dev",
        "title": "Second NVMe SSD not detected in the M2_2 slot on Forge Tower",
        "body": (
            "Added a 2 TB NVMe drive to the second M.2 slot (M2_2). It doesn't show up in BIOS or in Disk Management.\n"
            "The drive works fine in an external USB enclosure. I also have two SATA drives connected to SATA5 and SATA6."
        ),
        "tags": ["storage", "nvme", "bios"],
        "days_ago": 66,
        "votes": 3,
        "answers": [
            {
                "author": "zed_overclock",
                "body": (
                    "M2_2 shares chipset lanes with SATA5/SATA6 on the Forge board. When anything is plugged into those two ports, M2_2 is disabled.\n"
                    "Move your SATA drives to SATA1-SATA4 and the NVMe will show up. It's in the manual's block diagram, but easy to miss."
                ),
                "hours_after": 3,
                "votes": 6,
                "accepted": True,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "And once it shows up it will be unallocated:\n"
                    "Disk Management → *Initialize Disk* → GPT, then create a new simple volume."
                ),
                "hours_after": 6,
                "votes": 4,
                "accepted": False,
            },
            {
                "author": "jules_streams",
                "body": (
                    "Also double-check the little standoff is in the right hole for a 2280 drive,\n"
                    "otherwise the drive can sit at an angle and not make full contact."
                ),
                "hours_after": 24,
                "votes": 1,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "forge-tower",
        "author": "kwame_a",
        "title": "What PSU does the Forge Tower ship with? Planning an upgrade to a ~350 W GPU",
        "body": (
            "My Forge Tower is the RTX 4060 configuration and I'd like to upgrade to a card with ~350 W board power.\n"
            "Which PSU is inside, is there a 12VHPWR cable, and what's the maximum GPU length?"
        ),
        "tags": ["power", "gpu", "upgrade"],
        "days_ago": 74,
        "votes": 8,
        "answers": [
            {
                "author": "tomas_kestrel",
                "body": (
                    "All Forge Tower configurations ship with a **750 W 80 Plus Gold, ATX 3.0** unit with one native 12VHPWR cable and two 8-pin PCIe cables.\n"
                    "Maximum GPU length is 335 mm with the front fans installed, so a 350 W card is within spec.\n"
                    "Upgrading the GPU yourself does not void the warranty on the rest of the system."
                ),
                "hours_after": 10,
                "votes": 6,
                "accepted": True,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "750 W ATX 3.0 is fine for a 350 W card plus a 120 W CPU. Some practical notes:\n"
                    "\n"
                    "- The 4060 config uses the 8-pin cables, so the 12VHPWR cable is probably tied up behind the motherboard tray. Look there before buying an adapter.\n"
                    "- Measure thickness too: 3.5-slot cards block the bottom PCIe slot.\n"
                    "- Run DDU before switching between NVIDIA and AMD."
                ),
                "hours_after": 4,
                "votes": 9,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "kwame_a", "body": "Update: found the 12VHPWR cable tied up behind the tray, exactly as Zed said. New card is in and running.", "on": "question"},
        ],
    },
    {
        "product": "forge-tower",
        "author": "carla_m",
        "title": "Forge Tower case fans ramp up and down every few seconds at idle",
        "body": (
            "At idle on the desktop my Forge Tower fans go loud... quiet... loud every 5-10 seconds. Very distracting in a quiet office.\n"
            "CPU temperature in Companion bounces between 45 and 60 °C. Fan profile is *Balanced*."
        ),
        "tags": ["fan-noise", "companion"],
        "days_ago": 13,
        "votes": 7,
        "answers": [
            {
                "author": "gus_grumbles",
                "body": (
                    "Modern CPUs jump 10-15 °C for a second whenever anything happens; that's normal. What's wrong is the fans reacting instantly.\n"
                    "\n"
                    "Companion → *Fan & Power* → **Custom** → set *Step up time* to 3 s and *Step down time* to 5 s, and flatten the curve so it stays around 30% up to 65 °C.\n"
                    "\n"
                    "Or in BIOS *Smart Fan*, set the case fans to follow the **system** temperature sensor instead of the CPU."
                ),
                "hours_after": 2,
                "votes": 9,
                "accepted": False,
            },
            {
                "author": "jules_streams",
                "body": (
                    "The custom curve with a step-up delay fixed it for me too.\n"
                    "Also: stop watching the temperature graph, that's how I noticed it in the first place."
                ),
                "hours_after": 4,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "Having the case fans follow the system sensor is the way to go.\n"
                    "The CPU cooler fan is the only one that needs to react quickly."
                ),
                "hours_after": 20,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "forge-tower",
        "author": "newbie_noah",
        "title": "Brand new Forge Tower, monitor says 'No signal' on first boot",
        "body": (
            "Just unboxed my first gaming PC! The power light is on and the fans spin, but my monitor says No Signal.\n"
            "I plugged the HDMI cable into the port on the back near the USB ports. Did I get a broken unit?"
        ),
        "tags": ["display", "setup", "gpu"],
        "days_ago": 3,
        "votes": 2,
        "answers": [
            {
                "author": "gus_grumbles",
                "body": (
                    "Not broken. The HDMI port up near the USB ports belongs to the motherboard and is disabled when a graphics card is installed.\n"
                    "Use one of the ports in the horizontal row lower down (that's the graphics card). DisplayPort is best if your monitor has it. Welcome to the club."
                ),
                "hours_after": 1,
                "votes": 11,
                "accepted": True,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Happens to everyone lol.\n"
                    "Also check the monitor's input source is set to the port you're using."
                ),
                "hours_after": 3,
                "votes": 3,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "newbie_noah", "body": "Update: yep, it was the motherboard port. It works! Thank you!!", "on": "question"},
            {"author": "jules_streams", "body": "Every single new PC owner does this once, myself included.", "on": 0},
        ],
    },
    # ======================================================================= #
    # Kestrel Dock Pro
    # ======================================================================= #
    {
        "product": "dock-pro",
        "author": "fiona_travels",
        "title": "Dock Pro only charges my Aero 14 at 30 W instead of 96 W",
        "body": (
            "Companion shows **Slow charger connected (30 W)** when my Aero 14 is on the Dock Pro. Under load the battery actually drains.\n"
            "\n"
            "- Dock Pro firmware 1.3.2, 180 W power brick\n"
            "- Connected with a 2 m USB-C cable I bought, because the included one is too short for my desk\n"
            "\n"
            "The laptop's own 65 W charger works normally."
        ),
        "tags": ["dock", "charging", "usb-c"],
        "days_ago": 38,
        "votes": 13,
        "answers": [
            {
                "author": "raj_builds",
                "body": (
                    "It's almost certainly the cable. Above 60 W, USB-C power needs a cable with a **5 A e-marker** chip. Most 2 m cables are 3 A only,\n"
                    "and when the dock can't read a marker reliably it falls back to a conservative profile, which is your 30 W.\n"
                    "\n"
                    "Get a cable labelled *Thunderbolt 4* or *USB4 40 Gbps, 100 W/240 W*. Passive 2 m TB4 cables exist and work fine.\n"
                    "Also use the dock port with the ⚡ icon; the other USB-C ports are downstream and only supply 15 W."
                ),
                "hours_after": 2,
                "votes": 17,
                "accepted": True,
            },
            {
                "author": "lena_kestrel",
                "body": (
                    "Raj's explanation is correct. Please also update the dock to firmware **1.3.4**: it handles cables with a missing or unreliable e-marker better,\n"
                    "so you'll get 60 W instead of 30 W with a 3 A cable. For the full 96 W, the included cable or a certified Thunderbolt 4 cable is required."
                ),
                "hours_after": 5,
                "votes": 6,
                "accepted": False,
            },
            {
                "author": "marco_dev",
                "body": (
                    "Also check the laptop side: on the Aero 14 only the left port near the hinge accepts 96 W.\n"
                    "The right port is limited to 65 W input."
                ),
                "hours_after": 3,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "Got bitten by this too. A small USB-C cable tester with a display shows the e-marker details.\n"
                    "Worth the money if you have a drawer of mystery cables."
                ),
                "hours_after": 9,
                "votes": 2,
                "accepted": False,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Plug the 65 W charger and the dock in at the same time, one in each port.\n"
                    "Then it charges faster."
                ),
                "hours_after": 12,
                "votes": -1,
                "accepted": False,
            },
            {
                "author": "tuxfan_ingrid",
                "body": (
                    "If you have a Linux live USB handy, it's a quick way to test cables:\n"
                    "`cat /sys/class/power_supply/ucsi-source-psy-*/current_max` and `voltage_now` show what was actually negotiated."
                ),
                "hours_after": 24,
                "votes": 4,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "fiona_travels", "body": "Update: ordered a 2 m TB4 cable and updated to 1.3.4. Companion now says 96 W.", "on": "question"},
            {"author": "gus_grumbles", "body": "The laptop only draws power from one port at a time, so this doesn't add up.", "on": 4},
            {"author": "pixelpeeper", "body": "The e-marker thing explains so many weird USB-C problems.", "on": 0},
        ],
    },
    {
        "product": "dock-pro",
        "author": "dev_dmitri",
        "title": "Dock Pro on Fedora 40: monitors work but Ethernet and USB ports don't",
        "body": (
            "Dock Pro connected over Thunderbolt to my Aero 14 running Fedora 40 (kernel 6.9). Both displays work, but the dock's Ethernet and USB ports are dead.\n"
            "\n"
            "```\n"
            "$ boltctl list\n"
            " ● Kestrel Dock Pro\n"
            "   ├─ status:     connected\n"
            "   ├─ authflags:  none\n"
            "```"
        ),
        "tags": ["linux", "thunderbolt", "fedora"],
        "days_ago": 49,
        "votes": 8,
        "answers": [
            {
                "author": "tuxfan_ingrid",
                "body": (
                    "`connected` but not `authorized`: the Thunderbolt PCIe tunnel isn't set up, so only DisplayPort (which doesn't need authorization) works.\n"
                    "The dock's Ethernet and USB controllers sit behind PCIe.\n"
                    "\n"
                    "```\n"
                    "boltctl enroll --policy auto <uuid-from-boltctl-list>\n"
                    "```\n"
                    "\n"
                    "Policy `auto` authorizes it automatically on future connections. GNOME also has a switch under Settings → Privacy → Thunderbolt."
                ),
                "hours_after": 4,
                "votes": 10,
                "accepted": True,
            },
            {
                "author": "raj_builds",
                "body": (
                    "Also check BIOS → *Security* → *Thunderbolt security level*. With *User authorization* you need the enrollment above;\n"
                    "*No security* authorizes everything automatically, which I wouldn't recommend on a laptop you carry around."
                ),
                "hours_after": 7,
                "votes": 5,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "dev_dmitri", "body": "Update: enrolled with policy auto. Ethernet and USB come up on every hotplug now.", "on": "question"},
        ],
    },
    {
        "product": "dock-pro",
        "author": "marco_dev",
        "title": "Dock Pro with an M2 MacBook Air: two monitors only mirror, can't extend",
        "body": (
            "Work gave me an M2 MacBook Air, and I'm using my Dock Pro with two 1440p monitors on the DP and HDMI outputs.\n"
            "Both monitors show the same image and I can't find a way to extend in Displays settings. It works perfectly with my Windows laptop."
        ),
        "tags": ["macos", "display", "mst"],
        "days_ago": 31,
        "votes": 9,
        "answers": [
            {
                "author": "raj_builds",
                "body": (
                    "Two limitations stack up here:\n"
                    "\n"
                    "1. The base M1/M2 chips only drive **one** external display natively.\n"
                    "2. macOS doesn't support DisplayPort MST, which is how the dock splits one DP stream into two outputs, so macOS sees one display and the dock mirrors it.\n"
                    "\n"
                    "Workarounds: a DisplayLink adapter for the second screen (software-driven, fine for office work), or one larger monitor on the Mac."
                ),
                "hours_after": 3,
                "votes": 12,
                "accepted": False,
            },
            {
                "author": "pixelpeeper",
                "body": (
                    "Confirming: a DisplayLink adapter on one of the dock's USB ports works for the second screen.\n"
                    "Not great for video, fine for spreadsheets and chat."
                ),
                "hours_after": 5,
                "votes": 4,
                "accepted": False,
            },
            {
                "author": "kwame_a",
                "body": (
                    "Docks with two separate display controllers work on the Pro/Max chips, but not on the base chips.\n"
                    "So don't spend money on a different dock for this."
                ),
                "hours_after": 24,
                "votes": 1,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "dock-pro",
        "author": "ruth_ledger",
        "title": "Keyboard and mouse on Dock Pro freeze for a few seconds at random",
        "body": (
            "I do bookkeeping all day and several times an hour my keyboard and mouse (wireless receiver in the dock's front USB-A port) stop responding for 2-5 seconds.\n"
            "I tried a different USB port on the dock and new batteries. Dock firmware 1.3.2, Windows 11."
        ),
        "tags": ["usb", "dock", "windows-11"],
        "days_ago": 21,
        "votes": 5,
        "answers": [
            {
                "author": "gus_grumbles",
                "body": (
                    "2.4 GHz receivers right next to a USB 3 port get drowned out by the radio noise USB 3 generates. Classic problem, not Kestrel-specific.\n"
                    "Put the receiver on a short USB extension cable so it sits 20-30 cm away from the dock, facing your desk. Cost me 3 dollars and the freezes stopped."
                ),
                "hours_after": 4,
                "votes": 8,
                "accepted": False,
            },
            {
                "author": "lena_kestrel",
                "body": (
                    "Two things on our side can cause this:\n"
                    "\n"
                    "1. Update the dock to firmware **1.3.4** (Companion → Devices → Dock Pro). It fixes a USB hub reset when the laptop changes power state.\n"
                    "2. Power Options → *USB settings* → **USB selective suspend setting** → Disabled.\n"
                    "\n"
                    "If it still happens after that, Gus's extension cable trick is worth trying too."
                ),
                "hours_after": 6,
                "votes": 6,
                "accepted": True,
            },
        ],
        "comments": [
            {"author": "ruth_ledger", "body": "Update: firmware 1.3.4 plus the extension cable. No freezes all week.", "on": "question"},
        ],
    },
    {
        "product": "dock-pro",
        "author": "old_school_bert",
        "title": "Dock Pro firmware update stuck at 'Updating... 0%' for over an hour",
        "body": (
            "Started the dock firmware update (1.3.2 to 1.3.4) from Companion. The progress bar has been at 0% for over an hour.\n"
            "Is it safe to unplug the dock? I don't want to brick it."
        ),
        "tags": ["firmware", "companion", "dock"],
        "days_ago": 16,
        "votes": 4,
        "answers": [
            {
                "author": "priya_kestrel",
                "body": (
                    "It's safe. The Dock Pro has two firmware banks and only switches to the new one after a verified write, so an interrupted update falls back to 1.3.2.\n"
                    "\n"
                    "1. Close Companion, unplug the dock's power for 30 seconds, reconnect.\n"
                    "2. Disconnect **everything** from the dock except power and the host cable; monitors and USB hubs can stall the update.\n"
                    "3. Run the update again. It should take 5-8 minutes."
                ),
                "hours_after": 1,
                "votes": 7,
                "accepted": True,
            },
            {
                "author": "raj_builds",
                "body": (
                    "Step 2 is the key one. My dock update hung at 0% every time with my USB hub attached,\n"
                    "and finished right away with nothing else connected."
                ),
                "hours_after": 2,
                "votes": 5,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "old_school_bert", "body": "Update: unplugged everything and it finished in 6 minutes. Dock is alive and on 1.3.4.", "on": "question"},
        ],
    },
    {
        "product": "dock-pro",
        "author": "elif_k",
        "title": "Constant hiss from the Dock Pro 3.5 mm headphone jack",
        "body": (
            "There's a constant background hiss in my headphones when I use the audio jack on the Dock Pro, even with nothing playing.\n"
            "Straight from the laptop's jack it's silent. They're fairly sensitive in-ear monitors."
        ),
        "tags": ["audio", "dock"],
        "days_ago": 45,
        "votes": 2,
        "answers": [
            {
                "author": "jules_streams",
                "body": (
                    "Sensitive IEMs reveal the noise floor of almost any built-in DAC.\n"
                    "An inline impedance adapter (around 75 Ω) reduces the hiss a lot. Otherwise just use the laptop jack."
                ),
                "hours_after": 10,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "If the hiss gets louder while the laptop charges through the dock, it's a ground loop through the power brick.\n"
                    "A small USB-C dongle DAC plugged into the dock sidesteps it."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "dock-pro",
        "author": "kwame_a",
        "title": "Can I connect the Vista 27 to the Dock Pro's downstream Thunderbolt port?",
        "body": (
            "I have a Dock Pro and just ordered a Vista 27. Can I plug the monitor into the dock's rear Thunderbolt 4 port with USB-C and keep a second monitor on HDMI?\n"
            "The laptop is an Aero 14."
        ),
        "tags": ["thunderbolt", "display", "dock"],
        "days_ago": 26,
        "votes": 6,
        "answers": [
            {
                "author": "raj_builds",
                "body": (
                    "Yes. The rear downstream TB4 port carries DisplayPort, so the Vista 27 works there at 4K 60 Hz, and its USB hub works too.\n"
                    "\n"
                    "With the Aero 14 you can run it alongside one HDMI monitor (two external displays total).\n"
                    "4K 144 Hz won't fit through the dock together with a second screen, so expect 4K 60 Hz."
                ),
                "hours_after": 6,
                "votes": 9,
                "accepted": False,
            },
            {
                "author": "pixelpeeper",
                "body": (
                    "If you want 4K 144 Hz, connect the Vista directly to the laptop's Thunderbolt port\n"
                    "and use the dock for everything else."
                ),
                "hours_after": 9,
                "votes": 4,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "dock-pro",
        "author": "carla_m",
        "title": "Dock Pro makes a faint high-pitched whine when the laptop lid is closed",
        "body": (
            "Only noticed it at night: when my laptop is closed and the dock is idle, there's a faint high-pitched whine from the dock itself, not the power brick.\n"
            "It goes away when I disconnect the laptop. Is this normal coil whine or a sign of a problem?"
        ),
        "tags": ["dock", "coil-whine"],
        "days_ago": 1,
        "votes": 0,
        "answers": [],
        "comments": [],
    },
    # ======================================================================= #
    # Kestrel Halo Mesh
    # ======================================================================= #
    {
        "product": "halo-mesh",
        "author": "old_school_bert",
        "title": "Halo Mesh satellite goes offline every night around 3 AM",
        "body": (
            "3-pack Halo Mesh on firmware 2.1.6. The satellite in my garage office drops offline every night around 3 AM and doesn't come back until I power-cycle it.\n"
            "The main unit and the other satellite are fine. Wireless backhaul; the satellite is about 12 m from the main unit through two walls."
        ),
        "tags": ["mesh", "firmware", "wifi"],
        "days_ago": 29,
        "votes": 9,
        "answers": [
            {
                "author": "netwrangler",
                "body": (
                    "3 AM is when Halo runs *Auto channel optimization*. If it picks a DFS channel on 5 GHz for the backhaul, the satellite has to listen for radar before it can rejoin,\n"
                    "and at that distance it often gives up.\n"
                    "\n"
                    "In the app: *Advanced* → *Wireless* → *Backhaul channel* → **36-48 (non-DFS)**, and turn off *Nightly optimization*.\n"
                    "\n"
                    "Also check the satellite's backhaul signal in the app; anything worse than about -70 dBm is borderline."
                ),
                "hours_after": 3,
                "votes": 14,
                "accepted": True,
            },
            {
                "author": "lena_kestrel",
                "body": (
                    "Thank you for the detailed report. Firmware **2.1.8**, rolling out this week, makes satellites rejoin after a channel change instead of staying offline,\n"
                    "and prefers non-DFS channels for the backhaul. You can install it early from *Settings* → *Firmware* → *Check now*."
                ),
                "hours_after": 7,
                "votes": 5,
                "accepted": False,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "Or run a cable to the garage and use wired backhaul.\n"
                    "Two walls and 12 m is asking a lot of any mesh."
                ),
                "hours_after": 10,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "marco_dev",
                "body": (
                    "Powerline adapters are a decent middle ground for the backhaul if running Ethernet isn't possible.\n"
                    "Mine do about 300 Mbps to the shed, more stable than wireless was."
                ),
                "hours_after": 20,
                "votes": 2,
                "accepted": False,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Factory reset all three units once a week.\n"
                    "Fixes everything."
                ),
                "hours_after": 30,
                "votes": -2,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "old_school_bert", "body": "Update: pinned the backhaul to channel 44 and disabled nightly optimization. Five nights without a drop.", "on": "question"},
            {"author": "netwrangler", "body": "Weekly resets wipe your settings and don't fix the cause.", "on": 4},
        ],
    },
    {
        "product": "halo-mesh",
        "author": "ruth_ledger",
        "title": "Smart plugs and an older printer can't connect after setting up Halo Mesh",
        "body": (
            "Replaced my old router with Halo Mesh. Laptops and phones are fine, but my 3 smart plugs and a 2016 laser printer won't join at all.\n"
            "They see the network name but fail with *wrong password*. The password is definitely correct."
        ),
        "tags": ["wifi", "iot", "wpa3"],
        "days_ago": 36,
        "votes": 7,
        "answers": [
            {
                "author": "netwrangler",
                "body": (
                    "Halo Mesh defaults to **WPA2/WPA3 mixed** with Wi-Fi 6 on 2.4 GHz, and a lot of older IoT chips can't handle that and report it as a wrong password.\n"
                    "\n"
                    "Easiest fix: app → *Network* → **IoT network** → enable. That creates a separate 2.4 GHz-only SSID with WPA2 and Wi-Fi 4 (802.11n) for those devices.\n"
                    "Bonus: they're kept apart from your laptops."
                ),
                "hours_after": 2,
                "votes": 11,
                "accepted": True,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Just turn off the Wi-Fi password and the firewall while you set them up,\n"
                    "then turn them back on after."
                ),
                "hours_after": 1,
                "votes": -3,
                "accepted": False,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "If the printer still refuses, give it a network cable.\n"
                    "Printers from that era have awful Wi-Fi anyway."
                ),
                "hours_after": 6,
                "votes": 4,
                "accepted": False,
            },
            {
                "author": "kwame_a",
                "body": (
                    "My plugs joined the IoT network fine, but I had to re-pair them in their own app,\n"
                    "because they kept trying the old network name first."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "gus_grumbles", "body": "Running an open network even for a few minutes lets anyone nearby join. Please don't.", "on": 1},
            {"author": "ruth_ledger", "body": "Update: the IoT network fixed the plugs. The printer is on a cable now.", "on": "question"},
        ],
    },
    {
        "product": "halo-mesh",
        "author": "dev_dmitri",
        "title": "Port forwarding on Halo Mesh doesn't work, am I behind CGNAT?",
        "body": (
            "I forwarded TCP 25565 to my home server (192.168.68.20) for a game server. It works on the LAN, but from outside the connection times out.\n"
            "\n"
            "The Halo app shows WAN IP `100.72.14.9`, but what-is-my-IP sites show a completely different address."
        ),
        "tags": ["port-forwarding", "networking", "cgnat"],
        "days_ago": 58,
        "votes": 6,
        "answers": [
            {
                "author": "netwrangler",
                "body": (
                    "Yes, that's CGNAT. `100.64.0.0/10` is the shared range ISPs use, so your router isn't reachable from the internet and no port forward on your side can work.\n"
                    "\n"
                    "Options:\n"
                    "- Ask your ISP for a public IPv4 address (some do it free on request, some charge).\n"
                    "- Use IPv6 if your ISP provides it, and open the port in Halo's *IPv6 firewall*.\n"
                    "- Use a tunnel or VPN service with a public endpoint."
                ),
                "hours_after": 5,
                "votes": 9,
                "accepted": True,
            },
            {
                "author": "marco_dev",
                "body": (
                    "For completeness: if Halo's WAN IP were a 192.168.x.x address instead, you'd have double NAT with the ISP modem,\n"
                    "and the fix would be bridge mode on the modem."
                ),
                "hours_after": 9,
                "votes": 3,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "dev_dmitri", "body": "Update: one phone call and the ISP gave me a public IPv4 for free. Port forward works now.", "on": "question"},
        ],
    },
    {
        "product": "halo-mesh",
        "author": "jules_streams",
        "title": "Halo Mesh with Ethernet backhaul, but the app still says 'Wireless backhaul'",
        "body": (
            "Ran a Cat6 cable from the main Halo unit to the upstairs satellite, with a small managed switch in between.\n"
            "The app still shows the satellite on *Wireless backhaul* with 2 bars. Firmware 2.1.6."
        ),
        "tags": ["mesh", "backhaul", "ethernet"],
        "days_ago": 11,
        "votes": 4,
        "answers": [
            {
                "author": "tomas_kestrel",
                "body": (
                    "Two things to check:\n"
                    "\n"
                    "1. Reboot the satellite after connecting the cable. On 2.1.6 the backhaul type is only re-evaluated at boot (2.1.8 changes this).\n"
                    "2. Managed switches with **loop prevention** or **IGMP snooping** can block the mesh discovery packets.\n"
                    "   Connect the satellite directly as a test, or disable loop prevention on the switch ports used by Halo."
                ),
                "hours_after": 3,
                "votes": 8,
                "accepted": True,
            },
            {
                "author": "netwrangler",
                "body": (
                    "It's almost always loop prevention on those small managed switches.\n"
                    "Once it's off, the satellite switches to wired within a minute."
                ),
                "hours_after": 5,
                "votes": 6,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "jules_streams", "body": "Update: it was loop prevention on the switch. Shows Ethernet backhaul now.", "on": "question"},
        ],
    },
    {
        "product": "halo-mesh",
        "author": "hana_photo",
        "title": "Laptop stuck at ~80 Mbps on Halo Mesh 6 GHz while my phone gets 600+",
        "body": (
            "My phone gets 600+ Mbps on the 6 GHz network, but my laptop (Intel AX211) tops out around 80 Mbps in the same room.\n"
            "Windows shows it connected on 6 GHz with a link speed of 2402 Mbps. I'm testing with a browser speed test."
        ),
        "tags": ["wifi", "6ghz", "performance"],
        "days_ago": 47,
        "votes": 5,
        "answers": [
            {
                "author": "netwrangler",
                "body": (
                    "The link rate looks right, so the radio side is fine. 80 Mbps on a good link is usually something local:\n"
                    "\n"
                    "- A VPN client or an antivirus \"web protection\" feature limiting throughput. Test with it off.\n"
                    "- On battery, the power plan can throttle the Wi-Fi adapter. Plug in and retest.\n"
                    "- Rule out the browser with `iperf3 -c 192.168.68.10 -R` against a wired PC."
                ),
                "hours_after": 6,
                "votes": 7,
                "accepted": False,
            },
            {
                "author": "raj_builds",
                "body": (
                    "On AX211 laptops also check the adapter's *Advanced* tab: `Throughput Booster` enabled,\n"
                    "and `Transmit Buffers` / `Receive Buffers` not set to the minimum. Some tuning tools change those."
                ),
                "hours_after": 10,
                "votes": 4,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "hana_photo", "body": "Update: it was the VPN client's split-tunnel setting. Without it I get around 700 Mbps.", "on": "question"},
        ],
    },
    {
        "product": "halo-mesh",
        "author": "marco_dev",
        "title": "Does Halo Mesh support VLANs or a truly isolated guest network?",
        "body": (
            "I'm setting up a small home office and want my work devices separated from the family's devices and from guests.\n"
            "Does Halo Mesh support VLAN tagging, or at least a guest network that can't see the main LAN?"
        ),
        "tags": ["vlan", "guest-network", "security"],
        "days_ago": 80,
        "votes": 3,
        "answers": [
            {
                "author": "netwrangler",
                "body": (
                    "No 802.1Q VLAN tagging as of firmware 2.1.x, but you get three separate networks: Main, Guest and IoT.\n"
                    "\n"
                    "- **Guest**: internet only, no LAN access, optional client isolation.\n"
                    "- **IoT**: you choose whether it can talk to Main devices.\n"
                    "\n"
                    "If you need real VLANs across wired ports, use a separate router/firewall and run Halo in access point mode."
                ),
                "hours_after": 8,
                "votes": 6,
                "accepted": True,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "The guest network works well for my work laptop.\n"
                    "Note that client isolation also blocks casting and printer discovery on that network."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "halo-mesh",
        "author": "elif_k",
        "title": "Halo app stuck in a login loop: \"Session expired\" right after signing in",
        "body": (
            "Since this morning the Halo app (Android, v4.6.0) signs me in and immediately shows *Session expired, please sign in again*.\n"
            "I cleared the cache and reinstalled the app. The internet works fine, I just can't manage the network."
        ),
        "tags": ["halo-app", "android", "login"],
        "days_ago": 0,
        "votes": 2,
        "answers": [],
        "comments": [
            {"author": "sofia_mod", "body": "Flagged this for the staff team, a few similar reports came in today.", "on": "question"},
        ],
    },
    {
        "product": "halo-mesh",
        "author": "benji_plays",
        "title": "Ping spikes every ~60 seconds in online games on Halo Mesh Wi-Fi",
        "body": (
            "Playing over 5 GHz Wi-Fi on Halo Mesh, my ping is about 20 ms but spikes to 150-300 ms almost exactly every 60 seconds.\n"
            "\n"
            "```\n"
            "Reply from 1.1.1.1: bytes=32 time=18ms TTL=57\n"
            "Reply from 1.1.1.1: bytes=32 time=247ms TTL=57\n"
            "```"
        ),
        "tags": ["wifi", "latency", "gaming"],
        "days_ago": 6,
        "votes": 5,
        "answers": [
            {
                "author": "netwrangler",
                "body": (
                    "Spikes at a fixed interval on Windows are almost always a **background Wi-Fi scan**, not the router. Usually Location Services or an app asking for nearby networks.\n"
                    "\n"
                    "1. Settings → Privacy & security → *Location* → turn it off (or for the apps that don't need it).\n"
                    "2. Close Wi-Fi analyzer tools and anything that shows nearby networks.\n"
                    "\n"
                    "Run `ping -t 1.1.1.1` again afterwards. If the spikes are gone, that was it."
                ),
                "hours_after": 2,
                "votes": 10,
                "accepted": True,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "Or run an Ethernet cable.\n"
                    "Wi-Fi for competitive games is always a compromise."
                ),
                "hours_after": 4,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "Flash OpenWrt on the Halo units,\n"
                    "the stock firmware is the problem."
                ),
                "hours_after": 6,
                "votes": -1,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "netwrangler", "body": "There's no OpenWrt build for Halo, and trying to flash one can brick the unit and void the warranty.", "on": 2},
            {"author": "benji_plays", "body": "Update: location services was it!! Flat 18 ms now.", "on": "question"},
        ],
    },
    # ======================================================================= #
    # Kestrel Vista 27
    # ======================================================================= #
    {
        "product": "vista-27",
        "author": "jules_streams",
        "title": "Vista 27 flickers at 144 Hz over USB-C, fine at 120 Hz",
        "body": (
            "Vista 27 connected to my Aero 14 over USB-C. At 4K 144 Hz the screen blanks for a split second every few minutes; at 120 Hz it's rock solid.\n"
            "Monitor firmware M27-1.03, using the cable from the box."
        ),
        "tags": ["display", "usb-c", "refresh-rate"],
        "days_ago": 19,
        "votes": 12,
        "answers": [
            {
                "author": "pixelpeeper",
                "body": (
                    "4K 144 Hz over USB-C needs all four lanes for DisplayPort plus DSC. By default the Vista 27 splits the link into 2 DP lanes + USB 3 for its hub.\n"
                    "\n"
                    "OSD → *System* → **USB-C Mode** → **High Resolution (USB 2.0)**. DisplayPort gets all 4 lanes; the monitor's USB ports drop to USB 2.0, fine for keyboard and mouse.\n"
                    "\n"
                    "Then update to firmware **M27-1.05**, which fixes a DSC blanking issue."
                ),
                "hours_after": 3,
                "votes": 13,
                "accepted": True,
            },
            {
                "author": "raj_builds",
                "body": (
                    "If there's a Dock Pro in between, 4K 144 Hz isn't going to work at all.\n"
                    "It has to be connected directly to the laptop's Thunderbolt port."
                ),
                "hours_after": 5,
                "votes": 5,
                "accepted": False,
            },
            {
                "author": "zed_overclock",
                "body": (
                    "Also disable *Adaptive Sync* as a test.\n"
                    "Some VRR + DSC combinations flicker on integrated graphics at low frame rates."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
            {
                "author": "newbie_noah",
                "body": (
                    "Same monitor here. For what it's worth, the flicker also went away for me after updating to M27-1.05,\n"
                    "even with the default USB-C mode."
                ),
                "hours_after": 48,
                "votes": 1,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "hana_photo", "body": "Does USB 2.0 mode slow down an external SSD plugged into the monitor?", "on": 0},
            {"author": "pixelpeeper", "body": "Yes, it drops to USB 2.0 speed, about 40 MB/s. Plug the SSD into the laptop instead.", "on": 0},
            {"author": "jules_streams", "body": "Update: M27-1.05 plus High Resolution mode, no flicker in three days at 144 Hz.", "on": "question"},
        ],
    },
    {
        "product": "vista-27",
        "author": "hana_photo",
        "title": "HDR looks washed out and grey on Vista 27 in Windows 11",
        "body": (
            "When I turn on HDR in Windows 11, the desktop and all SDR content look faded and grey. HDR videos look okay-ish.\n"
            "The monitor is in *DisplayHDR 600* mode in the OSD. Is something wrong with my unit?"
        ),
        "tags": ["hdr", "display", "windows-11"],
        "days_ago": 42,
        "votes": 10,
        "answers": [
            {
                "author": "pixelpeeper",
                "body": (
                    "Your unit is fine; that's how Windows maps SDR content into HDR. A few things help a lot:\n"
                    "\n"
                    "1. Install the **Windows HDR Calibration** app from the Microsoft Store and run it with the monitor in *DisplayHDR 600* mode.\n"
                    "2. Settings → Display → HDR → lower *SDR content brightness* (around 30-40 matches the monitor's SDR mode).\n"
                    "3. Only turn HDR on when you need it: `Win` + `Alt` + `B` toggles it.\n"
                    "\n"
                    "For photo editing, leave HDR off and use the monitor's *sRGB* preset."
                ),
                "hours_after": 4,
                "votes": 12,
                "accepted": True,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Turn up digital vibrance / saturation in your graphics driver control panel,\n"
                    "70% or so makes it pop."
                ),
                "hours_after": 6,
                "votes": 0,
                "accepted": False,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "HDR on the Windows desktop has looked like this on every HDR monitor I've owned.\n"
                    "The calibration app is the real fix."
                ),
                "hours_after": 24,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "jules_streams",
                "body": (
                    "For games, keep the desktop in SDR and switch HDR on only while playing.\n"
                    "Auto HDR can be toggled per game in the Game Bar."
                ),
                "hours_after": 48,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "vista-27",
        "author": "carla_m",
        "title": "USB ports on Vista 27 stop working after the monitor goes to sleep",
        "body": (
            "My webcam and keyboard are plugged into the Vista 27's USB hub. After the monitor sleeps and wakes, they're gone until I unplug the USB-C cable.\n"
            "Monitor firmware M27-1.03."
        ),
        "tags": ["usb", "sleep", "display"],
        "days_ago": 56,
        "votes": 3,
        "answers": [
            {
                "author": "gus_grumbles",
                "body": (
                    "OSD → *System* → **USB Standby Power** → On.\n"
                    "With it off (the default, for energy ratings) the hub loses power when the panel sleeps, and Windows doesn't always re-detect it."
                ),
                "hours_after": 5,
                "votes": 6,
                "accepted": False,
            },
            {
                "author": "pixelpeeper",
                "body": (
                    "Firmware M27-1.05 also lists improved USB hub recovery after standby in its changelog.\n"
                    "Worth updating either way."
                ),
                "hours_after": 8,
                "votes": 3,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "vista-27",
        "author": "old_school_bert",
        "title": "Vista 27 has a stuck bright green pixel near the center. Does it qualify for RMA?",
        "body": (
            "Got my Vista 27 four days ago. There's one bright green subpixel slightly left of center, very visible on dark backgrounds.\n"
            "What's Kestrel's dead pixel policy?"
        ),
        "tags": ["rma", "warranty", "dead-pixel"],
        "days_ago": 64,
        "votes": 4,
        "answers": [
            {
                "author": "priya_kestrel",
                "body": (
                    "Sorry about that. Within the first 30 days, **one bright (stuck) subpixel in the central zone** qualifies the Vista 27 for a replacement.\n"
                    "After 30 days the standard limit is 3 bright or 5 dark pixels.\n"
                    "\n"
                    "Please open a request at *Support → RMA* with the serial number and a photo of the pixel on a black background. We ship the replacement first."
                ),
                "hours_after": 4,
                "votes": 7,
                "accepted": True,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "Before you ship it, try a pixel-unsticking video for 20 minutes.\n"
                    "Works maybe a third of the time on stuck (not dead) pixels."
                ),
                "hours_after": 6,
                "votes": 4,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "old_school_bert", "body": "Update: the pixel video didn't help. Replacement arrived in 5 days with no defects. Good service.", "on": "question"},
        ],
    },
    {
        "product": "vista-27",
        "author": "zed_overclock",
        "title": "Vista 27 Overdrive 'Extreme' causes inverse ghosting at 60 Hz",
        "body": (
            "With Overdrive on *Extreme* I see bright halos behind moving objects, especially when a game drops to ~60 fps with VRR.\n"
            "On *Normal* it's a bit blurry at 144 Hz. Is there a setting that works across the whole range?"
        ),
        "tags": ["display", "overdrive", "gaming"],
        "days_ago": 33,
        "votes": 6,
        "answers": [
            {
                "author": "pixelpeeper",
                "body": (
                    "Expected with fixed overdrive: *Extreme* is tuned for 144 Hz, so at 60 Hz it overshoots.\n"
                    "\n"
                    "Update to firmware **M27-1.05** and set Overdrive to **Auto**. That's variable overdrive, which scales with the current refresh rate.\n"
                    "With Auto I couldn't see overshoot anywhere between 48 and 144 Hz."
                ),
                "hours_after": 6,
                "votes": 8,
                "accepted": True,
            },
            {
                "author": "benji_plays",
                "body": (
                    "I just cap fps at 141 so it stays near the top of the range.\n"
                    "Extreme looks great then."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "vista-27",
        "author": "newbie_noah",
        "title": "Is a VESA mount adapter included with the Vista 27, or do I need to buy one?",
        "body": (
            "I want to put my new Vista 27 on a monitor arm. The back has 4 screw holes, but I'm not sure of the size.\n"
            "Is it 100x100, and do I need special screws?"
        ),
        "tags": ["vesa", "accessories"],
        "days_ago": 2,
        "votes": 1,
        "answers": [],
        "comments": [],
    },
    {
        "product": "vista-27",
        "author": "marco_dev",
        "title": "Vista 27 KVM: switching input doesn't move my keyboard and mouse",
        "body": (
            "My work laptop is on USB-C and my Forge Tower on DisplayPort + USB-B upstream. When I switch the input to DP, the keyboard and mouse stay with the laptop.\n"
            "Is the KVM feature automatic, or do I need to configure it?"
        ),
        "tags": ["kvm", "usb", "display"],
        "days_ago": 24,
        "votes": 4,
        "answers": [
            {
                "author": "pixelpeeper",
                "body": (
                    "It's not automatic by default. OSD → *System* → **KVM** → set the USB upstream for DisplayPort to **USB-B** and for USB-C to **USB-C**.\n"
                    "After that, switching the input moves the hub too. Holding the joystick left for 2 seconds also toggles between the two."
                ),
                "hours_after": 4,
                "votes": 5,
                "accepted": False,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "After a switch it takes 2-3 seconds for the keyboard to come back.\n"
                    "That's normal, don't panic like I did."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    # ======================================================================= #
    # Kestrel Companion
    # ======================================================================= #
    {
        "product": "companion-app",
        "author": "ruth_ledger",
        "title": "Companion stuck at \"Checking for updates...\" forever (v3.2.1)",
        "body": (
            "Companion 3.2.1 on my Aero 14 sits on *Checking for updates...* for hours. From `%ProgramData%\\Kestrel\\Companion\\logs\\update.log`:\n"
            "\n"
            "```\n"
            "[UpdateService] GET https://updates.kestrel.example/v3/catalog\n"
            "[UpdateService] ERROR: The remote certificate is invalid (RemoteCertificateNameMismatch)\n"
            "[UpdateService] Retrying in 30s (attempt 41)\n"
            "```"
        ),
        "tags": ["companion", "updates", "windows-11"],
        "days_ago": 15,
        "votes": 7,
        "answers": [
            {
                "author": "tomas_kestrel",
                "body": (
                    "A certificate name mismatch means something between you and our server is intercepting HTTPS, usually an antivirus HTTPS-scanning feature or a proxy.\n"
                    "\n"
                    "1. Add `updates.kestrel.example` to your antivirus's HTTPS scanning exclusions.\n"
                    "2. Check that the system clock and time zone are correct.\n"
                    "3. Restart the service from an admin PowerShell: `Restart-Service KestrelCompanionSvc`."
                ),
                "hours_after": 5,
                "votes": 9,
                "accepted": True,
            },
            {
                "author": "raj_builds",
                "body": (
                    "Your log says certificate mismatch, so it's HTTPS interception. In my case it was the antivirus web shield.\n"
                    "After fixing that, Companion can stay stuck on the cached failed catalog. Clear it from an admin PowerShell:\n"
                    "\n"
                    "```\n"
                    "Stop-Service KestrelCompanionSvc\n"
                    "Remove-Item \"$env:ProgramData\\Kestrel\\Companion\\cache\\*\" -Recurse\n"
                    "Start-Service KestrelCompanionSvc\n"
                    "```"
                ),
                "hours_after": 3,
                "votes": 11,
                "accepted": False,
            },
            {
                "author": "benji_plays",
                "body": (
                    "Uninstall your antivirus and turn off Windows Firewall,\n"
                    "Companion works fine after that."
                ),
                "hours_after": 2,
                "votes": -2,
                "accepted": False,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "A fan utility fighting with an antivirus. Glorious.\n"
                    "Anyway, Raj's cache clear is the step people miss."
                ),
                "hours_after": 24,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "tomas_kestrel", "body": "Please don't remove your security software. An exclusion for our update domain is enough.", "on": 2},
            {"author": "ruth_ledger", "body": "Update: it was HTTPS scanning in my antivirus. Added the exclusion, cleared the cache, updates work again.", "on": "question"},
        ],
    },
    {
        "product": "companion-app",
        "author": "gus_grumbles",
        "title": "Why does Companion need 4 background processes and 300 MB of RAM?",
        "body": (
            "Task Manager shows `KestrelCompanion.exe`, `KestrelCompanionSvc.exe`, `KestrelOverlay.exe` and `KestrelTelemetry.exe`, about 300 MB combined.\n"
            "All I want is the fan profile and the battery limit. Can I kill some of them without breaking things?"
        ),
        "tags": ["companion", "performance"],
        "days_ago": 68,
        "votes": 11,
        "answers": [
            {
                "author": "lena_kestrel",
                "body": (
                    "Fair question. What each one does:\n"
                    "\n"
                    "- `KestrelCompanionSvc`: required; applies fan/power profiles and handles updates.\n"
                    "- `KestrelCompanion`: the UI. Safe to close from the tray; profiles keep working.\n"
                    "- `KestrelOverlay`: the on-screen indicator for Fn keys. Disable it in *Settings → Overlay*.\n"
                    "- `KestrelTelemetry`: optional. Turn off *Settings → Privacy → Usage data* and it won't start.\n"
                    "\n"
                    "Companion 3.3 will add a *Lite mode* that runs only the service."
                ),
                "hours_after": 8,
                "votes": 6,
                "accepted": False,
            },
            {
                "author": "marco_dev",
                "body": (
                    "Practical result after following the list above: only the service runs, at about 35 MB.\n"
                    "And on BIOS 1.14 the battery limit is stored in the embedded controller, so even the service isn't needed for that part."
                ),
                "hours_after": 12,
                "votes": 8,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "tuxfan_ingrid", "body": "A Lite mode would be very welcome. Thanks for the straight answer.", "on": 0},
            {"author": "gus_grumbles", "body": "Update: down to one process. Still think Lite mode should be the default.", "on": "question"},
        ],
    },
    {
        "product": "companion-app",
        "author": "tuxfan_ingrid",
        "title": "Linux: can I set the Aero 14 battery charge limit without Companion?",
        "body": (
            "Companion is Windows-only. On my Aero 14 running Arch, is there a way to cap charging at 80%?\n"
            "I can see `/sys/class/power_supply/BAT0/`, but I'm not sure which files are writable."
        ),
        "tags": ["linux", "battery", "arch"],
        "days_ago": 88,
        "votes": 9,
        "answers": [
            {
                "author": "dev_dmitri",
                "body": (
                    "On BIOS 1.14 the Aero 14 exposes the standard threshold file:\n"
                    "\n"
                    "```\n"
                    "echo 80 | sudo tee /sys/class/power_supply/BAT0/charge_control_end_threshold\n"
                    "```\n"
                    "\n"
                    "It resets on reboot, so make it persistent with a udev rule in `/etc/udev/rules.d/99-battery.rules`:\n"
                    "\n"
                    "```\n"
                    "ACTION==\"add\", SUBSYSTEM==\"power_supply\", KERNEL==\"BAT0\", ATTR{charge_control_end_threshold}=\"80\"\n"
                    "```"
                ),
                "hours_after": 6,
                "votes": 12,
                "accepted": True,
            },
        ],
        "comments": [
            {"author": "tuxfan_ingrid", "body": "Update: the udev rule works. I also set the limit in BIOS setup as a fallback.", "on": "question"},
        ],
    },
    {
        "product": "companion-app",
        "author": "benji_plays",
        "title": "Companion 'Turbo' fan profile is greyed out when on battery",
        "body": (
            "On my Aero 14 the Turbo profile in Companion is greyed out unless the charger is plugged in. Is that a bug?\n"
            "I want max performance for gaming on the train."
        ),
        "tags": ["companion", "fan-noise", "battery"],
        "days_ago": 5,
        "votes": 1,
        "answers": [
            {
                "author": "gus_grumbles",
                "body": (
                    "By design. Turbo raises the CPU/GPU power limits beyond what the battery can safely deliver, so it's only offered on AC with a 65 W or larger charger.\n"
                    "On battery, *Performance* is the highest profile. Gaming on battery will drain it in about an hour regardless."
                ),
                "hours_after": 3,
                "votes": 5,
                "accepted": False,
            },
            {
                "author": "fiona_travels",
                "body": (
                    "Ask me how I know about working on trains. A 100 W USB-C PD power bank counts as AC for Companion,\n"
                    "so Turbo becomes available with one plugged in."
                ),
                "hours_after": 6,
                "votes": 2,
                "accepted": False,
            },
        ],
        "comments": [],
    },
    {
        "product": "companion-app",
        "author": "fiona_travels",
        "title": "Companion says \"Device not supported\" after a clean Windows reinstall",
        "body": (
            "I did a clean install of Windows 11 24H2 on my Aero 14 and installed Companion 3.2.1 from the website. It opens but says *Device not supported* and shows no settings.\n"
            "The serial number shows up fine in BIOS. Do I need a specific driver first?"
        ),
        "tags": ["companion", "windows-11", "drivers"],
        "days_ago": 1,
        "votes": 2,
        "answers": [],
        "comments": [
            {"author": "raj_builds", "body": "Try installing the Kestrel System Interface driver before Companion. I think that's what lets it identify the model.", "on": "question"},
        ],
    },
    # ======================================================================= #
    # General (no product)
    # ======================================================================= #
    {
        "product": None,
        "author": "kwame_a",
        "title": "Does the Kestrel warranty transfer if I buy a used Aero 14?",
        "body": (
            "I'm looking at a second-hand Aero 14 that's about 10 months old. The seller doesn't have the receipt.\n"
            "Would the remaining warranty still be valid for me?"
        ),
        "tags": ["warranty", "rma"],
        "days_ago": 100,
        "votes": 5,
        "answers": [
            {
                "author": "priya_kestrel",
                "body": (
                    "Yes. Kestrel warranty is tied to the serial number, not the original buyer. Without a receipt, coverage starts from the manufacturing date plus 60 days.\n"
                    "You can check the exact end date at *Support → Warranty lookup* before you buy.\n"
                    "Extended warranty plans bought by the seller transfer too; accidental damage plans do not."
                ),
                "hours_after": 12,
                "votes": 8,
                "accepted": True,
            },
            {
                "author": "old_school_bert",
                "body": (
                    "Do the warranty lookup before paying. And ask the seller to remove the device from their Kestrel account,\n"
                    "otherwise registering it to yours is a hassle."
                ),
                "hours_after": 24,
                "votes": 5,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "kwame_a", "body": "Update: lookup showed 14 months left. Bought it!", "on": "question"},
        ],
    },
    {
        "product": None,
        "author": "elif_k",
        "title": "Order shipping to Canada stuck at 'Label created' for 9 days",
        "body": (
            "I ordered a Dock Pro from the Kestrel store, shipping to Toronto. Tracking has said *Label created* for 9 days with no movement.\n"
            "Support chat says to wait. Is this normal for international orders?"
        ),
        "tags": ["shipping", "orders"],
        "days_ago": 4,
        "votes": 3,
        "answers": [
            {
                "author": "lena_kestrel",
                "body": (
                    "Sorry for the wait. Shipments to Canada leave our warehouse in batches on Mondays and Thursdays, and tracking often doesn't update until the carrier scans the batch at the border.\n"
                    "If there's still no scan after 14 days, reply to your order confirmation email and we'll reship or refund. Please don't post your order number here."
                ),
                "hours_after": 2,
                "votes": 4,
                "accepted": False,
            },
            {
                "author": "fiona_travels",
                "body": (
                    "Same thing happened with my order to Vancouver.\n"
                    "Tracking jumped from *Label created* straight to *In transit* after 10 days."
                ),
                "hours_after": 5,
                "votes": 3,
                "accepted": False,
            },
            {
                "author": "gus_grumbles",
                "body": (
                    "Nine days is long but not unusual for cross-border batch shipping.\n"
                    "Hang in there."
                ),
                "hours_after": 20,
                "votes": 1,
                "accepted": False,
            },
        ],
        "comments": [
            {"author": "elif_k", "body": "Update: it got scanned this morning, finally moving.", "on": "question"},
        ],
    },
    {
        "product": None,
        "author": "hana_photo",
        "title": "Where do I find the serial number for a warranty / RMA request?",
        "body": (
            "The RMA form asks for a serial number. I have an Aero 14 and can't find a sticker anywhere except a tiny one with a QR code.\n"
            "Is there a way to find it from Windows?"
        ),
        "tags": ["rma", "warranty"],
        "days_ago": 110,
        "votes": 4,
        "answers": [
            {
                "author": "sofia_mod",
                "body": (
                    "A few ways:\n"
                    "\n"
                    "- The sticker on the bottom cover, line starting with `S/N:` (the QR code encodes the same number).\n"
                    "- BIOS setup (`F2` at boot) → *Main* page.\n"
                    "- PowerShell: `Get-CimInstance Win32_BIOS | Select-Object SerialNumber`\n"
                    "- Companion → *Device* → *About*."
                ),
                "hours_after": 2,
                "votes": 7,
                "accepted": False,
            },
            {
                "author": "raj_builds",
                "body": (
                    "The old `wmic bios get serialnumber` works on most machines too,\n"
                    "though wmic is being removed from newer Windows 11 builds, so the PowerShell line is the safer bet."
                ),
                "hours_after": 3,
                "votes": 4,
                "accepted": False,
            },
        ],
        "comments": [],
    },
]


# --------------------------------------------------------------------------- #
# Self-check
# --------------------------------------------------------------------------- #


def _nonblank_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


# Answers quoting another thread's answer with credit (`[quote=answer:N]`, docs/quoting.md), posted
# by app/demo/loader.py after both threads exist: `quoted` names the thread and the answer's place
# in it (0 = first posted), `quote` is the quoted text, `body` what the quoting author adds.
QUOTES = [
    {
        "question": "BIOS 1.14 update fails with \"Error 0x0E: Battery level insufficient\" at 100% charge",
        "quoted": ("Battery Care 80% charge limit resets to 100% after every restart", 0),
        "author": "fiona_travels",
        "quote": "BIOS **1.14** stores the limit in the embedded controller, so it survives reboots and works even with Companion closed.",
        "body": "This is why 1.14 is worth the trouble. Once I had it installed with the charger plugged straight into the "
                "laptop (not the dock), my 80% limit finally stuck across restarts.",
        "hours_after": 30,
    },
    {
        "question": "Dock Pro only charges my Aero 14 at 30 W instead of 96 W",
        "quoted": ("BIOS 1.14 update fails with \"Error 0x0E: Battery level insufficient\" at 100% charge", 0),
        "author": "kwame_a",
        "quote": "The flasher checks that a charger of **at least 45 W is connected directly**, not the battery percentage.",
        "body": "Related, for anyone landing here before a firmware update: even with a proper 5 A cable the dock does not "
                "count as a direct charger, so undock while the BIOS updates.",
        "hours_after": 20,
    },
]


def validate() -> None:
    """Assert the structural rules of the demo content. Raises AssertionError on the first problem."""
    username_chars = set("abcdefghijklmnopqrstuvwxyz0123456789_-")
    tag_chars = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    roles = {"customer", "staff", "moderator", "admin"}

    # -- products ----------------------------------------------------------
    slugs = [p["slug"] for p in PRODUCTS]
    assert len(PRODUCTS) == 6, len(PRODUCTS)
    assert set(slugs) == {"aero-14", "forge-tower", "dock-pro", "halo-mesh", "vista-27", "companion-app"}, slugs
    for p in PRODUCTS:
        assert set(p) == {"slug", "name", "description"}, p
        assert p["name"].startswith("Kestrel "), p["name"]
        assert 20 <= len(p["description"]) <= 300, p["slug"]

    # -- users -------------------------------------------------------------
    names = [u["username"] for u in USERS]
    assert len(names) == len(set(names)), "duplicate usernames"
    assert len({u["email"] for u in USERS}) == len(USERS), "duplicate emails"
    assert 22 <= len(USERS) <= 26, len(USERS)
    role_of = {u["username"]: u["role"] for u in USERS}
    for u in USERS:
        assert set(u) == {"username", "email", "role", "display_name", "bio"}, u
        assert 3 <= len(u["username"]) <= 30 and set(u["username"]) <= username_chars, u["username"]
        assert u["role"] in roles, u
        assert u["email"].endswith(("@example.com", "@kestrel.example")), u["email"]
        if u["role"] == "staff":
            assert u["email"].endswith("@kestrel.example"), u["email"]
        assert 1 <= len(u["display_name"]) <= 60 and u["bio"], u["username"]
    count = {r: sum(1 for u in USERS if u["role"] == r) for r in roles}
    assert count["admin"] == 1 and role_of.get("admin") == "admin", count
    assert count["staff"] == 3 and count["moderator"] == 1, count
    assert role_of.get("maya") == "customer" and role_of.get("raj_builds") == "customer"
    max_votes = min(18, len(USERS) - 1)  # authors can't vote on their own posts

    # -- questions -----------------------------------------------------------
    assert len(QUESTIONS) >= 46, len(QUESTIONS)
    titles = [q["title"] for q in QUESTIONS]
    assert len(titles) == len(set(titles)), "duplicate titles"
    products_used = {q["product"] for q in QUESTIONS}
    assert set(slugs) <= products_used, set(slugs) - products_used
    assert products_used <= set(slugs) | {None}, products_used
    assert 2 <= sum(1 for q in QUESTIONS if q["product"] is None) <= 3

    n_answers = n_comments = n_staff_answers = n_negative = 0
    unanswered = answered = with_accepted = 0
    staff_accepted = staff_not_accepted = community_beats_staff = 0
    recent = 0
    for q in QUESTIONS:
        where = q["title"][:50]
        assert set(q) == {"product", "author", "title", "body", "tags", "days_ago", "votes", "answers", "comments"}, where
        assert q["author"] in role_of, (where, q["author"])
        assert 15 <= len(q["title"]) <= 150, where
        assert 20 <= len(q["body"]) and 2 <= _nonblank_lines(q["body"]) <= 8, (where, _nonblank_lines(q["body"]))
        assert q["body"].count("```") % 2 == 0, where
        assert 1 <= len(q["tags"]) <= 4 and len(set(q["tags"])) == len(q["tags"]), where
        for t in q["tags"]:
            assert t and set(t) <= tag_chars and not t.startswith("-") and not t.endswith("-") and len(t) <= 35, (where, t)
        assert 0 <= q["days_ago"] <= 120, where
        assert -2 <= q["votes"] <= 15 and abs(q["votes"]) <= max_votes, where
        if q["days_ago"] <= 2:
            recent += 1

        answers = q["answers"]
        assert len(answers) <= 6, where
        n_answers += len(answers)
        if not answers:
            unanswered += 1
            assert q["days_ago"] <= 5, ("unanswered questions should be recent", where)
        else:
            answered += 1
        accepted = [a for a in answers if a["accepted"]]
        assert len(accepted) <= 1, where
        if accepted:
            with_accepted += 1
        staff_votes = []
        customer_votes = []
        for a in answers:
            assert set(a) == {"author", "body", "hours_after", "votes", "accepted"}, where
            assert a["author"] in role_of, (where, a["author"])
            assert a["author"] != q["author"], ("self-answer", where)
            assert 20 <= len(a["body"]) and 2 <= _nonblank_lines(a["body"]) <= 10, (where, a["author"])
            assert a["body"].count("```") % 2 == 0, (where, a["author"])
            assert 0 < a["hours_after"] <= q["days_ago"] * 24, ("answer in the future", where)
            assert -3 <= a["votes"] <= 30 and abs(a["votes"]) <= max_votes, where
            assert isinstance(a["accepted"], bool), where
            if a["votes"] < 0:
                n_negative += 1
                assert not a["accepted"], ("negative answer accepted", where)
            if role_of[a["author"]] == "staff":
                n_staff_answers += 1
                staff_votes.append(a["votes"])
                if a["accepted"]:
                    staff_accepted += 1
                else:
                    staff_not_accepted += 1
            elif role_of[a["author"]] == "customer":
                customer_votes.append(a["votes"])
        if staff_votes and customer_votes and max(customer_votes) > max(staff_votes):
            community_beats_staff += 1
        assert len({a["author"] for a in answers}) == len(answers), ("one answer per user", where)

        for c in q["comments"]:
            assert set(c) == {"author", "body", "on"}, where
            assert c["author"] in role_of, (where, c["author"])
            assert 2 <= len(c["body"]) < 200, (where, c["body"][:40])
            on = c["on"]
            if on == "question":
                pass
            else:
                assert isinstance(on, int) and not isinstance(on, bool) and 0 <= on < len(answers), (where, on)
            if c["author"] == q["author"]:
                assert on == "question" and c["body"].startswith("Update:"), ("asker may only post Update comments", where)
        n_comments += len(q["comments"])

    assert n_answers >= 110, n_answers
    assert 4 <= unanswered <= 6, unanswered
    assert recent >= 3, recent
    ratio = with_accepted / answered
    assert 0.5 <= ratio <= 0.7, (with_accepted, answered)
    assert 12 <= n_staff_answers <= 18, n_staff_answers
    assert staff_accepted >= 3 and staff_not_accepted >= 3, (staff_accepted, staff_not_accepted)
    assert community_beats_staff >= 3, community_beats_staff
    assert 3 <= n_negative <= 10, n_negative
    assert 35 <= n_comments <= 45, n_comments

    # -- the Maya thread ---------------------------------------------------
    maya = [q for q in QUESTIONS if q["author"] == "maya"]
    assert maya, "missing maya's question"
    mq = maya[0]
    assert mq["product"] == "aero-14" and "wifi" in mq["tags"], mq["title"]
    maya_accepted = [a for a in mq["answers"] if a["accepted"]]
    assert maya_accepted and role_of[maya_accepted[0]["author"]] == "customer", "maya's fix should be a customer answer"


if __name__ == "__main__":  # pragma: no cover
    validate()
    print(len(QUESTIONS), sum(len(q["answers"]) for q in QUESTIONS))
