VAR gold = 3
// the tavern
-> tavern
=== tavern ===
# description: A smoky room
Barkeep: Welcome, stranger! What'll it be? #id:tav_001
/* writers' note:
   keep it short */
* [Ask about the ring] Hero: Where did you find it? #id:tav_002
    Barkeep: In a fish. "Honestly." 🐟
    -> ring
* {gold > 5} Hero: A pint, please. -> END
+ (leave) [Leave]
- The door creaks. #sfx
~ gold = gold - 1
Look at this! #speaker:Old Man Willow #angry
TODO: record this later
= back_room
Barkeep: Tab's open. // comment
-> DONE
=== ring ===
Hero: Shiny!
-> END
