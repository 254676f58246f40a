#!/usr/bin/env bash
# Generates the example scenarios' prompts (8 kHz µ-law WAV) with espeak-ng and sox.
# The results are committed; re-run only to rebuild them.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say() { # file text
  espeak-ng -v ru -s 150 -w "$tmp/raw.wav" "$2"
  sox -D "$tmp/raw.wav" -r 8000 -c 1 -e u-law "$1" gain -n -6 pad 0 0.2
}
say examples/survey/question.wav "Здравствуйте! Управляющая компания проводит опрос. Если вы довольны уборкой подъезда, нажмите один. Если нет, нажмите два."
say examples/survey/question_agent.wav "Здравствуйте! Управляющая компания проводит опрос. Если вы довольны уборкой подъезда, нажмите один. Если нет, нажмите два. Чтобы поговорить с оператором, нажмите три."
say examples/survey/thanks.wav "Спасибо за ответ! До свидания."
say examples/salon/offer.wav "Здравствуйте! Салон красоты приглашает вас на новые процедуры со скидкой. Чтобы записаться, нажмите один или скажите да. Если не интересно, нажмите два или скажите нет."
say examples/meter/ask_reading.wav "Назовите показания счётчика холодной воды или наберите их на телефоне, в конце нажмите решётку."
say examples/meter/you_said.wav "Вы назвали"
say examples/meter/confirm.wav "Если верно, нажмите один. Чтобы назвать заново, нажмите два."
say examples/meter/thanks.wav "Спасибо, показания приняты."
du -sh examples
