#!/bin/bash
# Text-goal NavGoTo-v0 runs (issue 21), one after the other, each 1M steps of PPO on the
# state observations with success=reach: the navigation_semantic reward from the goal text
# (3 seeds, the captions' wording), a no-text ablation, a held-out pair (blue box) with its
# ground-truth run, the ground truth in the same mode (3 seeds) and an unseen wording (the
# first pair of assets/goals/heldout/navigation.toml). A finished run (eval.json) is skipped.
cd "$(dirname "$0")/.." && mkdir -p runs/navtext
B=${VLMGYM:-${CARGO_TARGET_DIR:-target}/release/vlmgym}
C=assets/configs/ppo/nav_state.toml
T=assets/models/simlit_nav_tower.safetensors
text() { # seed target goal negative out [config]
  local cfg=${6:-navigation_semantic}
  [ -f runs/navtext/$5/eval.json ] && return
  $B train --env NavGoTo-v0 --config $C --kwarg success='"reach"' --kwarg target="\"$2\"" --reward clg --goal "$3" --negative "$4" --window 0.0719 --reward-config $cfg --tower $T --seed $1 --out runs/navtext/$5 > runs/navtext/$5.log 2>&1
  $B eval --checkpoint runs/navtext/$5 --episodes 100 --deterministic > runs/navtext/$5/eval.json 2>>runs/navtext/$5.log
}
gt() { # seed target out
  [ -f runs/navtext/$3/eval.json ] && return
  $B train --env NavGoTo-v0 --config $C --kwarg success='"reach"' --kwarg target="\"$2\"" --seed $1 --out runs/navtext/$3 > runs/navtext/$3.log 2>&1
  $B eval --checkpoint runs/navtext/$3 --episodes 100 --deterministic > runs/navtext/$3/eval.json 2>>runs/navtext/$3.log
}
for s in 1 2 3; do text $s "red ball" "the red ball is right in front of the robot" "no red ball is in view" text_red_ball_$s; done
for s in 1 2 3; do gt $s "red ball" gt_reach_red_ball_$s; done
text 1 "red ball" "the red ball is right in front of the robot" "no red ball is in view" notext_red_ball_1 docs/runs/navigation/text/notext_red_ball_1/reward_no_text.toml
text 1 "blue box" "the blue box is right in front of the robot" "no blue box is in view" text_blue_box_1
gt 1 "blue box" gt_reach_blue_box_1
for s in 1 2 3; do text $s "red ball" "the camera looks straight at a red sphere" "there is no red sphere anywhere in sight" text_unseen_words_$s; done
echo ALLDONE
