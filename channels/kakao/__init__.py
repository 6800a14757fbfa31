"""KakaoTalk channel: a Kakao i Open Builder skill server (``POST /kakao/skill``) over the dialogue port.

Entry points: ``channels.kakao.channel.build_kakao_router`` / ``KakaoChannel``,
``channels.kakao.config.KakaoChannelConfig``, ``channels.kakao.http_sender.HttpCallbackSender`` and the
``dasan simulate kakao`` command in ``channels.kakao.simulate_cli``. See README.md.
"""
