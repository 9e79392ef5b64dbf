"""One class per PerCL command, with the rules FreeClimb documents for each attribute.

Attributes are declared in the order they are written on the wire. Required attributes come
first and may also be given positionally: ``Say("Hello")``, ``Redirect("https://...")``.
"""

from __future__ import annotations

from percl.attributes import (
    Boolean,
    Invalid,
    Integer,
    JsonObject,
    Nested,
    Number,
    OneOf,
    Pattern,
    Prompts,
    StringList,
    Text,
    Url,
)
from percl.model import Attr, Command, Struct

# Say's languages, GetSpeech's grammar types and built-in grammars, CreateConference's beeps,
# OutDial's answering-machine actions and the TTS engines, as FreeClimb's API spec lists them.
LANGUAGES = (
    "ca-ES", "da-DK", "de-DE", "en-AU", "en-CA", "en-GB", "en-IN", "en-US", "es-ES", "es-MX",
    "fi-FI", "fr-CA", "fr-FR", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL", "pl-PL", "pt-BR",
    "pt-PT", "ru-RU", "sv-SE", "zh-CN", "zh-HK", "zh-TW",
)
GRAMMAR_TYPES = ("URL", "BUILTIN")
BUILTIN_GRAMMARS = (
    "ALPHNUM6", "ANY_DIG", "DIG1", "DIG2", "DIG3", "DIG4", "DIG5", "DIG6", "DIG7", "DIG8",
    "DIG9", "DIG10", "DIG11", "UP_TO_20_DIGIT_SEQUENCE", "VERSAY_YESNO",
)
CONFERENCE_BEEPS = ("always", "never", "entryOnly", "exitOnly")
IF_MACHINE_ACTIONS = ("redirect", "hangup")
TTS_ENGINES = ("freeclimb.standard", "freeclimb.neural", "ElevenLabs")
KEYS = tuple("0123456789#*")

_E164 = r"\+[1-9][0-9]{1,14}"
_MS = Integer(minimum=0)


def _phone() -> Pattern:
    return Pattern(_E164, "an E.164 phone number such as +13125550100")


def _dtmf_sequence() -> Pattern:
    # FreeClimb allows pause markers between the keys, so only require a key and no spaces.
    return Pattern(r"(?=.*[0-9#*])\S+", "a sequence of DTMF keys (0-9, # and *) without spaces")


class TTSEngine(Struct):
    """The text-to-speech engine of a Say command."""

    name = Attr(OneOf(TTS_ENGINES))
    parameters = Attr(JsonObject())


class TranscribeRecord(Struct):
    """The ``record`` options of TranscribeUtterance."""

    save_recording = Attr(Boolean())
    max_length_sec = Attr(Integer(minimum=1, maximum=60))
    rcrd_termination_silence_time_ms = Attr(Integer(minimum=1, maximum=3000))


# --- audio -------------------------------------------------------------------------------


class Say(Command):
    """Speak text to the caller."""

    nestable = True
    text = Attr(Text(max_bytes=4096), required=True)
    language = Attr(OneOf(LANGUAGES))
    engine = Attr(Nested(TTSEngine))
    loop = Attr(Integer(minimum=0))  # 0 repeats until the caller hangs up
    privacy_mode = Attr(Boolean())


class Play(Command):
    """Play an audio file (any URL FreeClimb can fetch, a recordingUrl included)."""

    nestable = True
    file = Attr(Url(freeclimb_paths=True), required=True)
    loop = Attr(Integer(minimum=0))
    privacy_mode = Attr(Boolean())


class PlayEarlyMedia(Command):
    """Play audio before FreeClimb answers an inbound call; only as a script's first command."""

    first_only = True
    file = Attr(Url(), required=True)


class Pause(Command):
    """Wait in silence for ``length`` milliseconds."""

    nestable = True
    length = Attr(Integer(minimum=0), required=True)


# --- input -------------------------------------------------------------------------------


class GetDigits(Command):
    """Collect DTMF digits; the result is posted to ``action_url``."""

    terminal = True
    action_url = Attr(Url(), required=True)
    prompts = Attr(Prompts())
    initial_timeout_ms = Attr(_MS)
    digit_timeout_ms = Attr(_MS)
    max_digits = Attr(Integer(minimum=1))
    min_digits = Attr(Integer(minimum=0))
    finish_on_key = Attr(OneOf(KEYS))
    flush_buffer = Attr(Boolean())
    privacy_mode = Attr(Boolean())

    def check_together(self) -> None:
        if self.min_digits is not None and self.max_digits is not None and self.min_digits > self.max_digits:
            self.refuse("min_digits", f"must not exceed max_digits ({self.max_digits})")


class GetSpeech(Command):
    """Recognise speech against a grammar; the result is posted to ``action_url``."""

    terminal = True
    action_url = Attr(Url(), required=True)
    grammar_file = Attr(Text(non_empty=True), required=True)
    grammar_type = Attr(OneOf(GRAMMAR_TYPES))  # FreeClimb's default is URL
    grammar_rule = Attr(Text())
    play_beep = Attr(Boolean())
    prompts = Attr(Prompts())
    no_input_timeout_ms = Attr(_MS)
    recognition_timeout_ms = Attr(_MS)
    confidence_threshold = Attr(Number(minimum=0, maximum=1))
    sensitivity_level = Attr(Number(minimum=0, maximum=1))
    speech_complete_timeout_ms = Attr(_MS)
    speech_incomplete_timeout_ms = Attr(_MS)
    privacy_mode = Attr(Boolean())

    def check_together(self) -> None:
        if self.grammar_type == "BUILTIN":
            if self.grammar_file not in BUILTIN_GRAMMARS:
                self.refuse("grammar_file", "must name a built-in grammar when grammar_type is BUILTIN: "
                            + ", ".join(BUILTIN_GRAMMARS))
        else:
            try:
                Url().check(self.grammar_file)
            except Invalid as exc:
                self.refuse("grammar_file", f"{exc} when grammar_type is URL (the default)")


class RecordUtterance(Command):
    """Record the caller; the recording's details are posted to ``action_url``."""

    terminal = True
    action_url = Attr(Url(), required=True)
    silence_timeout_ms = Attr(_MS)
    finish_on_key = Attr(OneOf(KEYS))
    max_length_sec = Attr(Integer(minimum=1))
    play_beep = Attr(Boolean())
    auto_start = Attr(Boolean())
    privacy_mode = Attr(Boolean())


class StartRecordCall(Command):
    """Record the whole call in the background; details arrive with the callStatus webhook."""


class TranscribeUtterance(Command):
    """Transcribe what the caller says; the transcript is posted to ``action_url``."""

    terminal = True
    action_url = Attr(Url(), required=True)
    play_beep = Attr(Boolean())
    record = Attr(Nested(TranscribeRecord))
    privacy_for_logging = Attr(Boolean())
    privacy_for_recording = Attr(Boolean())
    prompts = Attr(Prompts())


# --- call control ------------------------------------------------------------------------


class Redirect(Command):
    """Continue the call with the PerCL served at ``action_url``."""

    terminal = True
    action_url = Attr(Url(), required=True)


class Hangup(Command):
    """End the call (an answered call: it is billed)."""

    terminal = True  # nothing runs on a call that has ended
    reason = Attr(Text())


class Reject(Command):
    """Refuse an inbound call without answering it (not billed)."""

    terminal = True
    reason = Attr(Text())


class OutDial(Command):
    """Call a number; ``call_connect_url`` gets the new leg, ``action_url`` the parent call."""

    terminal = True
    action_url = Attr(Url(), required=True)
    call_connect_url = Attr(Url(), required=True)
    calling_number = Attr(_phone(), required=True)
    destination = Attr(_phone(), required=True)
    if_machine = Attr(OneOf(IF_MACHINE_ACTIONS))
    if_machine_url = Attr(Url())
    send_digits = Attr(_dtmf_sequence())
    status_callback_url = Attr(Url())
    timeout = Attr(Integer(minimum=0))  # seconds
    privacy_mode = Attr(Boolean())

    def check_together(self) -> None:
        if self.if_machine == "redirect" and self.if_machine_url is None:
            self.refuse("if_machine_url", "is required when if_machine is redirect")
        if self.if_machine_url is not None and self.if_machine != "redirect":
            self.refuse("if_machine_url", "may only be given when if_machine is redirect")


class SendDigits(Command):
    """Play DTMF tones on the call."""

    digits = Attr(_dtmf_sequence(), required=True)
    pause_ms = Attr(Integer(minimum=100, maximum=1000))
    privacy_mode = Attr(Boolean())


class Sms(Command):
    """Send a text message during the call."""

    to = Attr(_phone(), required=True)
    from_ = Attr(_phone(), required=True, wire="from")
    text = Attr(Text(max_chars=160, non_empty=True), required=True)
    notification_url = Attr(Url())


# --- queues ------------------------------------------------------------------------------


class Enqueue(Command):
    """Put the call in a queue; ``wait_url`` serves what it hears while waiting."""

    terminal = True
    queue_id = Attr(Pattern(r"QU[0-9a-fA-F]{40}", "a queue id: QU followed by 40 hex characters"),
                    required=True)
    wait_url = Attr(Url(), required=True)
    action_url = Attr(Url(), required=True)
    notification_url = Attr(Url())


class Dequeue(Command):
    """Take the waiting call out of its queue (from a waitUrl script)."""


# --- conferences -------------------------------------------------------------------------


class CreateConference(Command):
    """Create an empty conference; ``action_url`` gets its id."""

    terminal = True
    action_url = Attr(Url(), required=True)
    alias = Attr(Text())
    play_beep = Attr(OneOf(CONFERENCE_BEEPS))
    record = Attr(Boolean())
    status_callback_url = Attr(Url())
    wait_url = Attr(Url())
    parent_call_id = Attr(Text(non_empty=True))


class AddToConference(Command):
    """Add the call to a conference as a participant."""

    conference_id = Attr(Text(non_empty=True), required=True)
    allow_call_control = Attr(Boolean())
    call_control_sequence = Attr(Pattern(r"[0-9#*]+", "DTMF keys (0-9, # and *)"))
    call_control_url = Attr(Url())
    leave_conference_url = Attr(Url())
    listen = Attr(Boolean())
    talk = Attr(Boolean())
    notification_url = Attr(Url())
    start_conf_on_enter = Attr(Boolean())
    dtmf_pass_through = Attr(Boolean())

    def check_together(self) -> None:
        if self.allow_call_control:
            for name in ("call_control_sequence", "call_control_url"):
                if getattr(self, name) is None:
                    self.refuse(name, "is required when allow_call_control is true")


class RemoveFromConference(Command):
    """Take the call out of its conference without hanging up."""


class TerminateConference(Command):
    """End the conference the call is in; every participant is hung up."""


class SetListen(Command):
    """Let the participant hear the conference, or not."""

    listen = Attr(Boolean(), required=True)


class SetTalk(Command):
    """Let the participant be heard in the conference, or mute them."""

    talk = Attr(Boolean(), required=True)


class SetDTMFPassThrough(Command):
    """Pass the participant's DTMF tones to the rest of the conference, or not."""

    dtmf_pass_through = Attr(Boolean(), required=True)


# --- parking and streaming ---------------------------------------------------------------


class Park(Command):
    """Put the call on hold; ``wait_url`` serves what it hears, ``action_url`` resumes it."""

    terminal = True
    wait_url = Attr(Url(), required=True)
    action_url = Attr(Url(), required=True)
    notification_url = Attr(Url())


class Unpark(Command):
    """Resume a parked call (its Park ``action_url`` takes over)."""

    terminal = True


class AudioStream(Command):
    """Stream the call's audio to a gRPC server (port 80 or 443)."""

    location = Attr(Url(schemes=None, ports=(80, 443)), required=True)
    action_url = Attr(Url())
    content_type = Attr(Text(non_empty=True))
    meta_data = Attr(StringList())
    privacy_mode = Attr(Boolean())


COMMANDS: dict[str, type[Command]] = dict(Command.registry)
