"""Channel adapters (web, KakaoTalk, Twilio): thin translators over the dialogue manager."""
